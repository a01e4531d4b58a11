"""Growing delays after failed attempts, per source (the client's address) and per target (a
login name, a gate), so that guessing is slow and the per-account lock is reached only after
the delays (tasks/identity/credentials.py).

A few failures in the window are free; after them each further attempt must wait
`login_delay_seconds`, doubled with every failure up to `login_delay_max_seconds`. An attempt
made while a wait runs is refused before anything is checked, so it counts nothing and locks
nothing. The same answer is given whether a name exists or not.

Attempts are counted in the public page's sliding-window table (PublicHit, tasks/clues/public.py,
same one-hour window, pruned there and here) under keyed hashes, never the address or the name.
An attempt is written as a failure *before* it is checked, in its own short transaction taken
one at a time (tasks/infra/locks.py): a burst sent at once sees the attempts before it. A
success takes its own rows back (`succeeded`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from models.clock import aware
from models.crypto import derived_key, tagged_mac
from models.errors import DomainError
from models.settings import Settings
from models.tables import PublicHit
from tasks.infra.locks import Lock, serialise

WINDOW = timedelta(hours=1)  # the public page's window: its pruning keeps no older row of any kind


class Kind:
    """PublicHit.kind of each counted attempt (at most 20 characters)."""

    LOGIN_SOURCE = "login-source"
    LOGIN_NAME = "login-name"
    PHONE_SOURCE = "phone-source"
    PHONE_GATE = "phone-gate"


class Throttled(DomainError):
    """Too many failures lately: wait `seconds` (the page answers 429)."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"尝试次数过多，请{seconds}秒后再试")
        self.seconds = seconds


def key(settings: Settings, kind: str, value: str) -> str:
    """A keyed hash of an address, a name or a gate under its kind: counts without keeping it."""
    message = f"throttle\n{kind}\n{value.strip()}".encode()
    # HMAC-SHA256 (intl) or HMAC-SM3 (gm), as `xuncha crypto` lists for 公开页面来源标识; a profile
    # switch only restarts the counts (kept an hour at most), as with the public page's client key.
    return tagged_mac(settings.crypto_profile, derived_key(settings, "public-client"), message)


@dataclass(frozen=True)
class Attempt:
    """The rows an attempt wrote as failures; handed back to `succeeded` when it passed."""

    ids: tuple[int, ...]


def delay(settings: Settings, failures: int) -> float:
    """Seconds to wait after `failures` failures in the window."""
    over = failures - settings.login_free_failures
    if over < 0:
        return 0.0
    return float(min(settings.login_delay_seconds * 2 ** min(over, 30), settings.login_delay_max_seconds))


def wait_left(*, session: Session, settings: Settings, kind: str, client: str, now: datetime) -> float:
    """Seconds this key must still wait before its next attempt (0: it may try now)."""
    rows = session.exec(select(func.count(), func.max(PublicHit.at)).where(
        PublicHit.kind == kind, PublicHit.client == client, col(PublicHit.at) > now - WINDOW)).one()
    failures, last = int(rows[0] or 0), rows[1]
    if last is None:
        return 0.0
    return max(0.0, (aware(last) + timedelta(seconds=delay(settings, failures)) - now).total_seconds())


def attempt(*, session: Session, settings: Settings, keys: Sequence[tuple[str, str]], now: datetime) -> Attempt:
    """Refuse (Throttled) while any of the (kind, key) pairs must wait; else write the attempt as
    a failure of each and commit, before the caller checks anything."""
    serialise(session, Lock.PUBLIC_LIMITS)
    session.execute(delete(PublicHit).where(col(PublicHit.at) <= now - WINDOW))  # writes first (SQLite: one at a time)
    wait = max((wait_left(session=session, settings=settings, kind=k, client=c, now=now) for k, c in keys), default=0.0)
    if wait > 0:
        session.commit()
        raise Throttled(max(1, math.ceil(wait)))
    rows = [PublicHit(kind=k, client=c, at=now) for k, c in keys]
    session.add_all(rows)
    session.commit()
    return Attempt(tuple(r.id for r in rows if r.id is not None))


def succeeded(*, session: Session, done: Attempt, clear: Sequence[tuple[str, str]] = ()) -> None:
    """The attempt passed: its rows are no failures, nor are the earlier ones of the `clear` keys
    (a person's own name after their login; never a source, which an attacker could clear)."""
    if done.ids:
        session.execute(delete(PublicHit).where(col(PublicHit.id).in_(done.ids)))
    for kind, client in clear:
        session.execute(delete(PublicHit).where(col(PublicHit.kind) == kind, col(PublicHit.client) == client))


def forgive_name(*, session: Session, settings: Settings, name: str) -> None:
    """Forget the failures counted against a login name (the office has just reset its password)."""
    session.execute(delete(PublicHit).where(col(PublicHit.kind) == Kind.LOGIN_NAME,
                                            col(PublicHit.client) == key(settings, Kind.LOGIN_NAME, name)))
