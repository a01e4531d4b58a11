"""Transaction-scoped locks for read-decide-write passes that have no row of their own to lock:
a count over a sliding window (the public page's rate limits), the audit chain's tail. On
PostgreSQL each is an advisory lock held until the transaction ends, so two processes decide
one after the other. SQLite lets one transaction write at a time and the passes here write
first (they prune or append), so they are already taken one by one and nothing is asked."""

from __future__ import annotations

from enum import IntEnum

from sqlalchemy import text
from sqlmodel import Session


class Lock(IntEnum):
    AUDIT_CHAIN = 7262001
    PUBLIC_LIMITS = 7262002


def serialise(session: Session, lock: Lock) -> None:
    """Hold `lock` until this transaction commits or rolls back (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(lock)})
