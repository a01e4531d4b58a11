"""The upgrade an office runs: a database written by the release it runs today (schema 0010, by
that release's own code: tests/support/release_fixture.py made tests/support/release-0010/) is
refused until upgraded, then upgraded to head with nothing lost — every row of every table, value
for value — and the work in it goes on: the gate still waits and can be answered, the informant
is still readable, the queued alerts go out with their codes, and the audit trail is intact."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from models.db import make_engine
from models.enums import AlertStatus, ApprovalStatus, Gate
from models.schema import SchemaMismatch, current_revision, ensure_schema, head_revision, upgrade
from models.settings import get_settings
from models.tables import Account, Alert, Approval, Petition
from tasks.clues.ledger import read_petition
from tasks.identity.todo import todo_for
from tasks.infra.alerts import CODE_SLOT, RecordingSender, deliver_due
from tasks.infra.audit import verify_trail
from tasks.lifecycle.approvals import check_approver, record_decision
from tests.conftest import NOW
from tests.support.release_fixture import INFORMANT, MASTER_KEY, SECRET_KEY

RELEASE = Path(__file__).resolve().parents[1] / "support" / "release-0010"
PREVIOUS = "0010"


@pytest.fixture
def released(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The previous release's database and keys in a fresh data folder, as an office has them."""
    home = tmp_path / "home"
    home.mkdir()
    for name in [n for n in os.environ if n.startswith("XUNCHA_")]:
        monkeypatch.delenv(name)
    shutil.copy(RELEASE / "audit-head", home / "audit-head")
    monkeypatch.setenv("XUNCHA_HOME", str(home))
    monkeypatch.setenv("XUNCHA_MASTER_KEY", MASTER_KEY)
    monkeypatch.setenv("XUNCHA_SECRET_KEYS", f'["{SECRET_KEY}"]')
    monkeypatch.setenv("XUNCHA_AUDIT_HEAD_FILE", str(home / "audit-head"))
    get_settings.cache_clear()
    conn = sqlite3.connect(home / "xuncha.db")
    conn.executescript((RELEASE / "xuncha.sql").read_text(encoding="utf-8"))
    conn.close()
    engine = make_engine(get_settings().db_url)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def snapshot(engine: Engine) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every table's columns and rows (ordered), as stored."""
    out = {}
    with engine.connect() as conn:
        schema = inspect(conn)
        for table in schema.get_table_names():
            cols = [c["name"] for c in schema.get_columns(table)]
            rows = conn.execute(text(f'SELECT {", ".join(cols)} FROM "{table}" ORDER BY 1')).all()
            out[table] = (cols, [tuple(r) for r in rows])
    return out


def test_the_previous_release_upgrades_to_head_without_loss(released: Engine) -> None:
    assert current_revision(released) == PREVIOUS != head_revision()
    before = snapshot(released)
    assert sum(len(rows) for _, rows in before.values()) > 100  # a database with work in it
    with pytest.raises(SchemaMismatch, match=re.escape(f"结构版本为 {PREVIOUS}，本程序需要 {head_revision()}")):
        ensure_schema(released)

    upgrade(released)

    ensure_schema(released)
    with released.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata) == []
    after = snapshot(released)
    for table, (cols, rows) in before.items():
        if table == "alembic_version":
            continue
        assert table in after, f"升级后缺少数据表 {table}"
        new_cols, new_rows = after[table]
        assert set(cols) <= set(new_cols), f"{table} 升级后缺少列 {set(cols) - set(new_cols)}"
        kept = [tuple(row[new_cols.index(c)] for c in cols) for row in new_rows]
        assert kept == rows, f"{table} 的数据在升级后有变化"


def test_the_work_goes_on_after_the_upgrade(released: Engine) -> None:
    upgrade(released)
    settings = get_settings()
    with Session(released) as s:
        # The alerts it queued go out, each code put back in its slot.
        waiting = len(s.exec(select(Alert).where(Alert.status == AlertStatus.PENDING)).all())
        sender = RecordingSender()
        assert deliver_due(session=s, sender=sender, settings=settings, now=NOW).sent == waiting > 0
        assert all(CODE_SLOT not in body and "无法还原" not in body for _, _, body in sender.sent)
        # The team's report gate still waits for its leader, and the code the previous release
        # sent for it answers it.
        leader = s.exec(select(Account).where(Account.name == "李建国")).one()
        (gate,) = todo_for(session=s, settings=settings, account=leader, now=NOW).gates
        assert gate.gate == Gate.STATIONING_DONE.value and "城东街道" in gate.subject
        (body,) = [b for _, title, b in sender.sent if title == f"【待审批】{Gate.STATIONING_DONE.value}"]
        code = re.search(r"验证码[^0-9]*([0-9]{6})", body)
        assert code is not None, body
        approval = s.exec(select(Approval).where(Approval.status == ApprovalStatus.PENDING)).one()
        assert check_approver(session=s, settings=settings, approval_id=approval.id or 0, approver="李建国",
                              code=code.group(1), now=NOW) == ""
        record_decision(session=s, approval_id=approval.id or 0, decision="通过", approver="李建国", comment="",
                        now=NOW)
        s.commit()
        s.refresh(approval)
        assert approval.status != ApprovalStatus.PENDING
        # The informant, encrypted by the previous release, is read by the office.
        petition = s.exec(select(Petition)).one()
        read = read_petition(session=s, settings=settings, by="陶文华", petition_id=petition.id or 0, informant=True,
                             now=NOW)
        s.commit()
        assert INFORMANT in str(read)
        # And the audit trail written before and after the upgrade is one intact chain.
        assert verify_trail(session=s) == []
