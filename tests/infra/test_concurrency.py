"""Concurrent writers on the embedded SQLite database: several processes append to the audit
trail, queue alerts and record progress at once. No "database is locked" reaches anyone, no
update is lost and the hash chain holds."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

from sqlmodel import Session, col, func, select

from models.db import get_engine
from models.settings import get_settings
from tasks.infra.audit import verify_trail
from tests.conftest import NOW

WRITERS, EACH = 4, 40


def _writer(home: str, n: int, errors: mp.Queue) -> None:  # type: ignore[type-arg]
    os.environ["XUNCHA_HOME"] = home
    os.environ.pop("XUNCHA_DATABASE_URL", None)
    get_settings.cache_clear()
    get_engine.cache_clear()
    from models.db import session_scope
    from models.enums import Role
    from tasks.infra.alerts import enqueue_alert
    from tasks.infra.audit import record_event

    try:
        for i in range(EACH):
            with session_scope() as s:  # read-then-write, the pattern that deadlocks deferred transactions
                record_event(session=s, actor=f"写入者{n}", action="并发写入", entity="test", entity_id=i, now=NOW)
                enqueue_alert(session=s, settings=get_settings(), key=f"shared:{i}", role=Role.OFFICE, title="t",
                              body="b", link="", now=NOW)
                enqueue_alert(session=s, settings=get_settings(), key=f"own:{n}:{i}", role=Role.OFFICE, title="t",
                              body="b", link="", now=NOW)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        errors.put(f"{n}: {type(exc).__name__}: {exc}")


def test_concurrent_writers_lose_nothing(cli_home: Path) -> None:
    get_engine()  # the schema, before the writers start
    ctx = mp.get_context("spawn")
    errors: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_writer, args=(str(cli_home), n, errors)) for n in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    reported = []
    while not errors.empty():
        reported.append(errors.get())
    assert reported == [] and all(p.exitcode == 0 for p in procs), reported

    from models.tables import Alert, AuditEvent

    with Session(get_engine()) as s:
        assert s.exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "并发写入")).one() == WRITERS * EACH
        assert s.exec(select(func.count()).select_from(Alert).where(col(Alert.dedupe_key).startswith("own:"))).one() == WRITERS * EACH
        assert s.exec(select(func.count()).select_from(Alert).where(col(Alert.dedupe_key).startswith("shared:"))).one() == EACH
        assert verify_trail(session=s) == []


def test_read_only_session_waits_for_no_writer(cli_home: Path) -> None:
    """A read-only session (the unit runs' 读取巡察状态) reads while another process holds the
    write lock, and sees what was committed before; a change made in it is refused."""
    import sqlite3
    import time

    import pytest

    from models.db import session_scope
    from models.tables import AuditEvent
    from tasks.infra.audit import record_event

    with session_scope() as s:
        record_event(session=s, actor="写入者", action="只读测试", entity="test", entity_id=1, now=NOW)
    path = get_settings().db_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock (busy_timeout is 60 s)
    try:
        started = time.monotonic()
        with session_scope(read_only=True) as s:
            seen = s.exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "只读测试")).one()
        assert seen == 1 and time.monotonic() - started < 5
    finally:
        holder.rollback()
        holder.close()
    with pytest.raises(RuntimeError, match="只读会话中不应修改数据"), session_scope(read_only=True) as s:
        row = s.exec(select(AuditEvent).where(AuditEvent.action == "只读测试")).one()
        row.actor = "改动"
    with session_scope(read_only=True) as s:
        assert s.exec(select(AuditEvent.actor).where(AuditEvent.action == "只读测试")).one() == "写入者"
