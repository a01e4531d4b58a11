"""Append-only audit trail, each event chained to the previous one by a keyed hash.

Each event's hash is an HMAC-SHA256, under the audit key (derived from the master key, kept
outside the database: models/crypto.py), of its id, time, actor, action, subject, detail and the
previous hash. Changing any byte of any row breaks the chain at that row, and whoever can write
the database but does not hold the key cannot compute a valid hash again, keyed or plain.

Trails begun before the chain was keyed hold plain SHA-256 hashes: they are verified as before
up to a switch record (`SWITCH`), the first keyed row; from there on every row must be keyed. The
id of the first keyed row is kept in the head file too, so a trail re-chained with plain hashes
from any row on is reported at that row.

Deleting the newest rows leaves a valid shorter chain; to catch that, the chain head (id, hash
and row count of the newest event, and the first keyed id) is also written after every commit to
a file outside the database (`head_file`, by default in the key folder). Every append and
`verify_trail` compare the two: a database that holds less than the head says is reported, and
no append is made on top of it (it would otherwise become the new, valid-looking tail).

Under the `gm` profile (models/crypto.py) new rows are chained with HMAC-SM3 under an audit key
derived with HKDF-SM3; such a hash carries SM3_TAG, so a trail holding rows of both profiles is
verified row by row in the profile each names. `rechain` rewrites the whole trail in one profile
(`xuncha crypto-switch`).

Refusals by names that are not registered accounts are rate-limited (`record_refusal`), so
whoever can type a command cannot fill the trail."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import event, func, text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from models.clock import CHINA, aware
from models.crypto import PROFILES, derived_key, mac_profile, tagged_mac, write_private
from models.errors import DomainError
from models.tables import Account, AuditEvent
from tasks.infra.locks import Lock, serialise

PENDING_HEAD = "audit_head"  # session.info: the head this transaction will write on commit
# Refusals of unregistered names: at most this many rows per clock hour (one per name), then one
# row saying the rest went unrecorded.
UNREGISTERED = "未登记用户操作（被拒绝）"
UNREGISTERED_FLOOD = "未登记用户被拒绝过多（本小时不再逐条记录）"
UNREGISTERED_PER_HOUR = 20
# The first keyed row of a trail begun with plain hashes.
SWITCH = "审计日志改用带密钥的哈希链"


class Head(NamedTuple):
    id: int
    hash: str
    rows: int | None  # None in a head file written before counts were kept
    keyed_from: int | None = None  # the first keyed row; None in a head file written before keying


class Broken(NamedTuple):
    """The first row whose hash or back-link does not match, as stored (it may not even parse)."""

    id: int
    at: str
    actor: str
    action: str
    plain: bool = False  # its hash is a valid plain SHA-256 where a keyed one belongs


_UNREADABLE = Head(-1, "", None)


def _payload(event_id: int | None, prev_hash: str, at: datetime, actor: str, action: str, entity: str,
             entity_id: int | None, detail: dict[str, Any]) -> bytes:
    return json.dumps(
        # The instant in China time: SQLite hands back naive China wall time, PostgreSQL an aware UTC time.
        [event_id, prev_hash, aware(at).astimezone(CHINA).isoformat(timespec="seconds"), actor, action, entity,
         entity_id, detail],
        ensure_ascii=False,
        sort_keys=True,
    ).encode()


def _digest(event_id: int | None, prev_hash: str, at: datetime, actor: str, action: str, entity: str,
            entity_id: int | None, detail: dict[str, Any]) -> str:
    """The plain SHA-256 of a row, as trails begun before keying hold up to their switch record."""
    return hashlib.sha256(_payload(event_id, prev_hash, at, actor, action, entity, entity_id, detail)).hexdigest()


def _mac(key: bytes, event_id: int | None, prev_hash: str, at: datetime, actor: str, action: str, entity: str,
         entity_id: int | None, detail: dict[str, Any], profile: str | None = None) -> str:
    """The keyed hash of a row: HMAC-SHA256 under the audit key, 64 hex digits like the plain one;
    under `gm` HMAC-SM3, tagged (models/crypto.py tagged_mac). By default in the current profile."""
    payload = _payload(event_id, prev_hash, at, actor, action, entity, entity_id, detail)
    return tagged_mac(profile or current_profile(), key, payload)


def current_profile() -> str:
    from models.settings import get_settings

    return get_settings().crypto_profile


def audit_key(profile: str | None = None) -> bytes:
    """The audit key of `profile` (default: the current one)."""
    from models.settings import get_settings

    settings = get_settings()
    return derived_key(settings, "audit", profile or settings.crypto_profile)


def _audit_keys() -> dict[str, bytes]:
    return {p: audit_key(p) for p in PROFILES}


def head_file(session: Session) -> Path:
    """Where the chain head is kept: settings.audit_head_file, else in the key folder beside the
    SQLite file (home/keys/ in the default set-up), else in home/keys/ (one file per database)."""
    from models.settings import get_settings

    settings = get_settings()
    if settings.audit_head_file:
        return Path(settings.audit_head_file)
    url = session.get_bind().engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        path, earlier = db.parent / "keys" / f"{db.stem}.audit-head", db.with_suffix(".audit-head")
    else:
        name = f"audit-head-{url.database or 'default'}"
        path, earlier = settings.keys_dir / name, settings.home / name
    if earlier.exists() and not path.exists():  # where releases before keying kept it
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            os.replace(earlier, path)
        except FileNotFoundError:  # another process moved it first
            pass
    return path


def _tail(session: Session) -> tuple[int, str, int]:
    """Newest id, its hash and the number of rows; only plain columns, so a mangled row cannot break it."""
    row = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    count = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return (int(row[0]), str(row[1]), int(count)) if row else (0, "", int(count))


def shrink(*, session: Session, path: Path, tail: tuple[int, str, int] | None = None) -> str | None:
    """In Chinese, how the database holds less than the head file says (rows deleted or the newest
    replaced); None when it holds at least that. A missing head file is not judged here.

    A re-chained trail (`rechain`) leaves the head it will have in a `.next` file beside the head
    before it commits: when the process died between the commit and moving the head, the database
    matches that file exactly, and the head is moved then."""
    tail = tail or _tail(session)
    problem = _shrink(session, path, tail)
    if problem is None:
        return None
    nxt = _read(_next_file(path))
    if nxt is not None and nxt != _UNREADABLE and (nxt.id, nxt.hash, nxt.rows) == tail:
        os.replace(_next_file(path), path)
        return None
    return problem


def _next_file(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".next")


def _shrink(session: Session, path: Path, tail: tuple[int, str, int]) -> str | None:
    head = _read(path)
    if head is None:
        return None
    if head == _UNREADABLE:
        return f"审计链头文件 {path} 内容无法识别"
    last_id, last_hash, count = tail
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
    # Writers append one at a time, or two transactions would chain to the same predecessor.
    serialise(session, Lock.AUDIT_CHAIN)
    path = head_file(session)
    tail = _tail(session)
    problem = shrink(session=session, path=path, tail=tail)
    if problem:
        raise DomainError(f"审计日志不完整，已停止记录新的操作：{problem}。请巡察办核查（verify-audit）后处理")
    last_id, prev, count = tail
    profile = current_profile()
    key = audit_key(profile)
    keyed_from = _keyed_from(session, path, tail)
    # Stored as China wall time (SQLite drops the offset), so hash the same instant in China time.
    at = aware(now).astimezone(CHINA).replace(microsecond=0)
    if last_id and keyed_from is None:  # a trail begun with plain hashes: keyed from here on
        switch = _append(session, key, last_id + 1, prev, at, "系统", SWITCH, "audit_event", None,
                         {"plain_until": last_id}, profile)
        last_id, prev, count, keyed_from = last_id + 1, switch.hash, count + 1, last_id + 1
    ev = _append(session, key, last_id + 1, prev, at, actor, action, entity, entity_id, detail or {}, profile)
    session.info[PENDING_HEAD] = (Head(ev.id or 0, ev.hash, count + 1, keyed_from or ev.id), path)
    return ev


def _append(session: Session, key: bytes, event_id: int, prev: str, at: datetime, actor: str, action: str,
            entity: str, entity_id: int | None, detail: dict[str, Any], profile: str) -> AuditEvent:
    ev = AuditEvent(id=event_id, at=at, actor=actor, action=action, entity=entity, entity_id=entity_id, detail=detail,
                    prev_hash=prev, hash=_mac(key, event_id, prev, at, actor, action, entity, entity_id, detail, profile))
    session.add(ev)
    session.flush()
    return ev


def _keyed_from(session: Session, path: Path, tail: tuple[int, str, int]) -> int | None:
    """The trail's first keyed row, None when it has none (empty, or plain hashes only): from this
    transaction's pending head, else the head file, else (a head file written before keying, or
    none) from the rows themselves."""
    pending = session.info.get(PENDING_HEAD)
    if pending:
        first: int | None = pending[0].keyed_from
        return first
    head = _read(path)
    if head is not None and head.keyed_from:
        return head.keyed_from
    if not tail[2]:
        return None
    return _walk(session, _audit_keys(), None)[1]


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
    pending = session.info.pop(PENDING_HEAD, None)
    if pending:
        _move_head(*pending)


def _move_head(head: Head, path: Path) -> None:
    write_head(head.id, head.hash, path, count=head.rows, keyed_from=head.keyed_from)
    _next_file(path).unlink(missing_ok=True)


@event.listens_for(OrmSession, "after_rollback")
def _drop_head(session: OrmSession) -> None:
    session.info.pop(PENDING_HEAD, None)


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
        if len(parts) == 4:
            return Head(int(parts[0]), parts[1], int(parts[2]), int(parts[3]))
    except ValueError:
        pass
    return _UNREADABLE


def read_head(path: Path) -> tuple[int, str] | None:
    """The head's id and hash; (-1, "") when the file cannot be read as a head."""
    head = _read(path)
    return None if head is None else (head.id, head.hash)


def write_head(event_id: int, digest: str, path: Path, *, count: int | None = None,
               keyed_from: int | None = None) -> None:
    """Move the head forward (never back: commits from several processes may finish out of order).
    The file is the owner's alone (0600), like the keys it sits beside by default."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path.with_suffix(path.suffix + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = _read(path)
        if current and current[0] >= event_id:
            return
        fields = [str(event_id), digest] + ([] if count is None else [str(count)])
        fields += [] if count is None or keyed_from is None else [str(keyed_from)]
        write_private(path, " ".join(fields) + "\n", path.with_suffix(path.suffix + ".tmp"))


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


def _walk(session: Session, keys: dict[str, bytes], keyed_from: int | None) -> tuple[Broken | None, int | None]:
    """The first row whose hash or back-link does not match (None if the chain holds), and the
    first keyed row. A keyed hash is checked in the profile it names, under that profile's key. A plain hash is accepted only before the first keyed row and before
    `keyed_from` (the head file's); rows are read as stored, so a value that no longer parses (a
    mangled timestamp, broken JSON) is reported at its row rather than failing the check."""
    prev, first_keyed = "", None
    for row in session.execute(text(f"SELECT {_COLUMNS} FROM audit_event ORDER BY id")):
        ev_id, raw_at, actor, action, entity, entity_id, raw_detail, prev_hash, digest = row
        at, detail = _parsed_at(raw_at), _parsed_detail(raw_detail)
        keyed = plain = False
        if at is not None:  # a timestamp that no longer parses matches no hash
            fields = (ev_id, prev, at, actor, action, entity, entity_id, detail)
            profile = mac_profile(str(digest))
            keyed = hmac.compare_digest(_mac(keys[profile], *fields, profile).encode(), str(digest).encode())
            plain = digest == _digest(*fields)
        plain_allowed = first_keyed is None and (keyed_from is None or ev_id < keyed_from)
        if prev_hash != prev or not (keyed or (plain and plain_allowed)):
            shown = f"{aware(at).astimezone(CHINA):%Y-%m-%d %H:%M}" if at else f"时间“{str(raw_at)[:40]}”无法识别"
            return Broken(int(ev_id), shown, str(actor), str(action), plain=prev_hash == prev and plain), first_keyed
        if keyed and first_keyed is None:
            first_keyed = int(ev_id)
        prev = str(digest)
    return None, first_keyed


def first_broken_link(*, session: Session) -> Broken | None:
    """The first event whose hash or back-link does not match, or None if the chain holds."""
    head = _read(head_file(session))
    return _walk(session, _audit_keys(), head.keyed_from if head else None)[0]


def verify_trail(*, session: Session) -> list[str]:
    """Problems found, in Chinese, naming the entry; empty when the trail is intact."""
    broken = first_broken_link(session=session)
    if broken is not None:
        why = ("；该条的哈希是不带密钥的 SHA-256，而此处应为带密钥的哈希：记录被改动后有人重新计算了哈希"
               if broken.plain else "")
        return [f"审计日志第{broken.id}条被篡改，或其前一条被删改（{broken.action}，{broken.actor}，{broken.at}{why}）"]
    path = head_file(session)
    if _read(path) is None:
        return [] if _tail(session)[2] == 0 else [f"找不到审计链头文件 {path}，无法确认最新记录未被删除"]
    problem = shrink(session=session, path=path)
    return [problem] if problem else []


def rechain(*, session: Session, profile: str) -> int:
    """Hash the whole trail again in `profile`, from its first row, in the caller's transaction;
    the head file follows on commit. Call it only on a trail that verifies (`verify_trail`), after
    recording the event that says so in the same transaction, so the head moves forward."""
    serialise(session, Lock.AUDIT_CHAIN)
    path = head_file(session)
    key = audit_key(profile)
    rows = list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all())
    prev = ""
    for ev in rows:
        ev.prev_hash = prev
        ev.hash = _mac(key, ev.id, prev, ev.at, ev.actor, ev.action, ev.entity, ev.entity_id, ev.detail, profile)
        prev = ev.hash
        session.add(ev)
    session.flush()
    if rows:
        head = Head(rows[-1].id or 0, rows[-1].hash, len(rows), rows[0].id)
        session.info[PENDING_HEAD] = (head, path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(_next_file(path), f"{head.id} {head.hash} {head.rows} {head.keyed_from}\n",
                      path.with_suffix(path.suffix + ".next.tmp"))
    return len(rows)
