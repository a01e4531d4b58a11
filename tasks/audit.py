"""Append-only audit trail, each event chained to the previous one by hash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.clock import CHINA, aware
from models.tables import AuditEvent


def _digest(prev_hash: str, at: datetime, actor: str, action: str, entity: str, entity_id: int | None, detail: dict[str, Any]) -> str:
    payload = json.dumps(
        [prev_hash, aware(at).isoformat(timespec="seconds"), actor, action, entity, entity_id, detail],
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record_event(
    *, session: Session, actor: str, action: str, entity: str, entity_id: int | None,
    now: datetime, detail: dict[str, Any] | None = None,
) -> AuditEvent:
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    prev = last.hash if last else ""
    detail = detail or {}
    # Stored as China wall time (SQLite drops the offset), so hash the same instant in China time.
    at = aware(now).astimezone(CHINA).replace(microsecond=0)
    event = AuditEvent(
        at=at, actor=actor, action=action, entity=entity, entity_id=entity_id, detail=detail,
        prev_hash=prev, hash=_digest(prev, at, actor, action, entity, entity_id, detail),
    )
    session.add(event)
    session.flush()
    return event


def first_broken_link(*, session: Session) -> AuditEvent | None:
    """The first event whose hash or back-link does not match, or None if the chain holds."""
    prev = ""
    for ev in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))):
        expected = _digest(prev, ev.at, ev.actor, ev.action, ev.entity, ev.entity_id, ev.detail)
        if ev.prev_hash != prev or ev.hash != expected:
            return ev
        prev = ev.hash
    return None
