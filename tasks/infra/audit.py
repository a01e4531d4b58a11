"""Append-only audit trail, each event chained to the previous one by hash.

Each event's hash covers its id, time, actor, action, subject, detail and the previous hash, so
changing any byte of any row breaks the chain at that row. Deleting the newest rows leaves a
valid shorter chain; to catch that, the chain head (id, hash and row count of the newest event)
is also written after every commit to a file outside the database (`head_file`). Every append
and `verify_trail` compare the two: a database that holds less than the head says is reported,
and no append is made on top of it (it would otherwise become the new, valid-looking tail).

Refusals by names that are not registered accounts are rate-limited (`record_refusal`), so
whoever can type a command cannot fill the trail."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import event, func, text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from models.clock import CHINA, aware
from models.errors import DomainError
from models.tables import Account, AuditEvent

_PENDING_HEAD = "audit_head"
# Refusals of unregistered names: at most this many rows per clock hour (one per name), then one
# row saying the rest went unrecorded.
UNREGISTERED = "未登记用户操作（被拒绝）"
UNREGISTERED_FLOOD = "未登记用户被拒绝过多（本小时不再逐条记录）"
UNREGISTERED_PER_HOUR = 20


class Head(NamedTuple):
    id: int
    hash: str
    rows: int | None  # None in a head file written before counts were kept


class Broken(NamedTuple):
    """The first row whose hash or back-link does not match, as stored (it may not even parse)."""

    id: int
    at: str
    actor: str
    action: str


_UNREADABLE = Head(-1, "", None)


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


def _tail(session: Session) -> tuple[int, str, int]:
    """Newest id, its hash and the number of rows; only plain columns, so a mangled row cannot break it."""
    row = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    count = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return (int(row[0]), str(row[1]), int(count)) if row else (0, "", int(count))


def shrink(*, session: Session, path: Path, tail: tuple[int, str, int] | None = None) -> str | None:
    """In Chinese, how the database holds less than the head file says (rows deleted or the newest
    replaced); None when it holds at least that. A missing head file is not judged here."""
    head = _read(path)
    if head is None:
        return None
    if head == _UNREADABLE:
        return f"审计链头文件 {path} 内容无法识别"
    last_id, last_hash, count = tail or _tail(session)
    if last_id < head.id:
        return f"审计日志第{last_id + 1}条至第{head.id}条已被删除（链头文件记录到第{head.id}条，数据库只到第{last_id}条）"
    at_head = last_hash if last_id == head.id else session.execute(
        select(AuditEvent.hash).where(AuditEvent.id == head.id)).scalar()
    if at_head != head.hash:
        return f"审计日志第{head.id}条与链头文件不符（记录被替换）"
    if head.rows is not None and count < head.rows:
        return f"审计日志少了{head.rows - count}条（链头文件记录共{head.rows}条，数据库只有{count}条）"
    return None


def record_event(
    *, session: Session, actor: str, action: str, entity: str, entity_id: int | None,
    now: datetime, detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event; refused (DomainError) when the trail has lost rows the head file knows of."""
    if session.get_bind().dialect.name == "postgresql":
        # Writers append one at a time, or two transactions would chain to the same predecessor.
        session.execute(text("SELECT pg_advisory_xact_lock(7262001)"))
    path = head_file(session)
    tail = _tail(session)
    problem = shrink(session=session, path=path, tail=tail)
    if problem:
        raise DomainError(f"审计日志不完整，已停止记录新的操作：{problem}。请巡察办核查（verify-audit）后处理")
    last_id, prev, count = tail
    event_id = last_id + 1
    detail = detail or {}
    # Stored as China wall time (SQLite drops the offset), so hash the same instant in China time.
    at = aware(now).astimezone(CHINA).replace(microsecond=0)
    ev = AuditEvent(
        id=event_id, at=at, actor=actor, action=action, entity=entity, entity_id=entity_id, detail=detail,
        prev_hash=prev, hash=_digest(event_id, prev, at, actor, action, entity, entity_id, detail),
    )
    session.add(ev)
    session.flush()
    session.info[_PENDING_HEAD] = (Head(event_id, ev.hash, count + 1), path)
    return ev


def record_refusal(
    *, session: Session, actor: str, action: str, entity: str, entity_id: int | None, now: datetime,
    detail: dict[str, Any] | None = None,
) -> AuditEvent | None:
    """Record a refused command. A registered name (active or not) gets a row each time; an
    unregistered one gets one row per name and clock hour, at most UNREGISTERED_PER_HOUR names an
    hour plus one row saying the rest were not recorded. None when nothing was written."""
    name = actor.strip()
    if session.exec(select(Account.id).where(Account.name == name)).first() is not None:
        return record_event(session=session, actor=name[:50], action=action, entity=entity, entity_id=entity_id,
                            now=now, detail=detail)
    label = name[:50] or "（未署名）"
    start = aware(now).astimezone(CHINA).replace(minute=0, second=0, microsecond=0)
    seen = set(session.exec(select(AuditEvent.actor).where(
        col(AuditEvent.action).in_([UNREGISTERED, UNREGISTERED_FLOOD]),
        col(AuditEvent.at) >= start, col(AuditEvent.at) < start + timedelta(hours=1))).all())
    if label in seen:
        return None
    flooded = "（多人）"
    if len(seen) >= UNREGISTERED_PER_HOUR:
        if flooded in seen:
            return None
        return record_event(session=session, actor=flooded, action=UNREGISTERED_FLOOD, entity=entity, entity_id=None,
                            now=now, detail={"since": start.isoformat(timespec="minutes")})
    return record_event(session=session, actor=label, action=UNREGISTERED, entity=entity, entity_id=entity_id, now=now,
                        detail={"action": action, "name_length": len(name), **(detail or {})})


@event.listens_for(OrmSession, "after_commit")
def _write_head(session: OrmSession) -> None:
    pending = session.info.pop(_PENDING_HEAD, None)
    if pending:
        head, path = pending
        write_head(head.id, head.hash, path, count=head.rows)


@event.listens_for(OrmSession, "after_rollback")
def _drop_head(session: OrmSession) -> None:
    session.info.pop(_PENDING_HEAD, None)


def _read(path: Path) -> Head | None:
    try:
        parts = path.read_text(encoding="ascii").split()
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return _UNREADABLE
    try:
        if len(parts) == 2:
            return Head(int(parts[0]), parts[1], None)
        if len(parts) == 3:
            return Head(int(parts[0]), parts[1], int(parts[2]))
    except ValueError:
        pass
    return _UNREADABLE


def read_head(path: Path) -> tuple[int, str] | None:
    """The head's id and hash; (-1, "") when the file cannot be read as a head."""
    head = _read(path)
    return None if head is None else (head.id, head.hash)


def write_head(event_id: int, digest: str, path: Path, *, count: int | None = None) -> None:
    """Move the head forward (never back: commits from several processes may finish out of order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(path.suffix + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = _read(path)
        if current and current[0] >= event_id:
            return
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write(f"{event_id} {digest}" + ("" if count is None else f" {count}") + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


_COLUMNS = "id, at, actor, action, entity, entity_id, detail, prev_hash, hash"


def _parsed_at(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _parsed_detail(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return None


def first_broken_link(*, session: Session) -> Broken | None:
    """The first event whose hash or back-link does not match, or None if the chain holds. Rows
    are read as stored, so a value that no longer parses (a mangled timestamp, broken JSON) is
    reported at its row rather than failing the check."""
    prev = ""
    for row in session.execute(text(f"SELECT {_COLUMNS} FROM audit_event ORDER BY id")):
        ev_id, raw_at, actor, action, entity, entity_id, raw_detail, prev_hash, digest = row
        at, detail = _parsed_at(raw_at), _parsed_detail(raw_detail)
        expected = None if at is None else _digest(ev_id, prev, at, actor, action, entity, entity_id, detail)
        if prev_hash != prev or digest != expected:
            shown = f"{aware(at).astimezone(CHINA):%Y-%m-%d %H:%M}" if at else f"时间“{str(raw_at)[:40]}”无法识别"
            return Broken(int(ev_id), shown, str(actor), str(action))
        prev = str(digest)
    return None


def verify_trail(*, session: Session) -> list[str]:
    """Problems found, in Chinese, naming the entry; empty when the trail is intact."""
    broken = first_broken_link(session=session)
    if broken is not None:
        return [f"审计日志第{broken.id}条被篡改，或其前一条被删改（{broken.action}，{broken.actor}，{broken.at}）"]
    path = head_file(session)
    if _read(path) is None:
        return [] if _tail(session)[2] == 0 else [f"找不到审计链头文件 {path}，无法确认最新记录未被删除"]
    problem = shrink(session=session, path=path)
    return [problem] if problem else []
