"""Append-only audit trail, each event chained to the previous one by hash.

Each event's hash covers its id, time, actor, action, subject, detail and the previous hash, so
changing any byte of any row breaks the chain at that row. Deleting the newest rows leaves a
valid shorter chain; to catch that, the chain head (id and hash of the newest event) is also
written after every commit to a file outside the database (`head_file`), and `verify_trail`
compares the two."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from models.clock import CHINA, aware
from models.tables import AuditEvent

_PENDING_HEAD = "audit_head"


def _digest(event_id: int | None, prev_hash: str, at: datetime, actor: str, action: str, entity: str,
            entity_id: int | None, detail: dict[str, Any]) -> str:
    payload = json.dumps(
        # The instant in China time: SQLite hands back naive China wall time, PostgreSQL an aware UTC time.
        [event_id, prev_hash, aware(at).astimezone(CHINA).isoformat(timespec="seconds"), actor, action, entity,
         entity_id, detail],
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def head_file(session: Session) -> Path:
    """Where the chain head is kept: settings.audit_head_file, else beside the SQLite file, else
    under the data home (one file per database name)."""
    from models.settings import get_settings

    configured = get_settings().audit_head_file
    if configured:
        return Path(configured)
    url = session.get_bind().engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).with_suffix(".audit-head")
    return get_settings().home / f"audit-head-{url.database or 'default'}"


def record_event(
    *, session: Session, actor: str, action: str, entity: str, entity_id: int | None,
    now: datetime, detail: dict[str, Any] | None = None,
) -> AuditEvent:
    if session.get_bind().dialect.name == "postgresql":
        # Writers append one at a time, or two transactions would chain to the same predecessor.
        session.execute(text("SELECT pg_advisory_xact_lock(7262001)"))
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    prev = last.hash if last else ""
    event_id = (last.id or 0) + 1 if last else 1
    detail = detail or {}
    # Stored as China wall time (SQLite drops the offset), so hash the same instant in China time.
    at = aware(now).astimezone(CHINA).replace(microsecond=0)
    ev = AuditEvent(
        id=event_id, at=at, actor=actor, action=action, entity=entity, entity_id=entity_id, detail=detail,
        prev_hash=prev, hash=_digest(event_id, prev, at, actor, action, entity, entity_id, detail),
    )
    session.add(ev)
    session.flush()
    session.info[_PENDING_HEAD] = (event_id, ev.hash, head_file(session))
    return ev


@event.listens_for(OrmSession, "after_commit")
def _write_head(session: OrmSession) -> None:
    pending = session.info.pop(_PENDING_HEAD, None)
    if pending:
        write_head(*pending)


@event.listens_for(OrmSession, "after_rollback")
def _drop_head(session: OrmSession) -> None:
    session.info.pop(_PENDING_HEAD, None)


def read_head(path: Path) -> tuple[int, str] | None:
    try:
        event_id, digest = path.read_text(encoding="ascii").split()
        return int(event_id), digest
    except FileNotFoundError:
        return None
    except ValueError:
        return (-1, "")


def write_head(event_id: int, digest: str, path: Path) -> None:
    """Move the head forward (never back: commits from several processes may finish out of order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(path.suffix + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_head(path)
        if current and current[0] >= event_id:
            return
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write(f"{event_id} {digest}\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


def first_broken_link(*, session: Session) -> AuditEvent | None:
    """The first event whose hash or back-link does not match, or None if the chain holds."""
    prev = ""
    for ev in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))):
        expected = _digest(ev.id, prev, ev.at, ev.actor, ev.action, ev.entity, ev.entity_id, ev.detail)
        if ev.prev_hash != prev or ev.hash != expected:
            return ev
        prev = ev.hash
    return None


def verify_trail(*, session: Session) -> list[str]:
    """Problems found, in Chinese, naming the entry; empty when the trail is intact."""
    broken = first_broken_link(session=session)
    if broken is not None:
        return [f"审计日志第{broken.id}条被篡改，或其前一条被删改（{broken.action}，{broken.actor}，"
                f"{aware(broken.at).astimezone(CHINA):%Y-%m-%d %H:%M}）"]
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    path = head_file(session)
    head = read_head(path)
    if head is None:
        return [] if last is None else [f"找不到审计链头文件 {path}，无法确认最新记录未被删除"]
    if head == (-1, ""):
        return [f"审计链头文件 {path} 内容无法识别"]
    head_id, head_hash = head
    if last is None or (last.id or 0) < head_id:
        have = (last.id or 0) if last else 0
        return [f"审计日志第{have + 1}条至第{head_id}条已被删除（链头文件记录到第{head_id}条，数据库只到第{have}条）"]
    if last.id == head_id and last.hash != head_hash:
        return [f"审计日志第{head_id}条与链头文件不符（记录被替换）"]
    if (last.id or 0) > head_id:
        at_head = session.get(AuditEvent, head_id)
        if at_head is None or at_head.hash != head_hash:
            return [f"审计日志第{head_id}条与链头文件不符（记录被替换）"]
    return []
