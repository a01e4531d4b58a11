"""Login sessions. The browser holds a random token; the database only its hash (SHA-256, or SM3
under the 国密 profile: a token stored under either is found after a switch). A session
goes password → (second factor) → (password change) → active, and only an active one is let
through the door. It ends after `session_idle_minutes` without activity, after
`session_max_hours` in all, or at logout; the reason is recorded with the end, so the person is
told it (e.g. idleness) whichever request comes first after it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from models.clock import aware
from models.crypto import PROFILES, digest_hex, profile_of
from models.errors import DomainError
from models.settings import Settings
from models.tables import Account, Credential, LoginSession
from tasks.identity.credentials import credential_of, needs_totp
from tasks.infra.audit import record_event

# A login half done (password given, code not yet) is kept this long.
STEP_MINUTES = 10
# Activity is written at most this often, so a busy page does not write on every request.
TOUCH_SECONDS = 15


class Stage(StrEnum):
    TOTP = "totp"  # password right, waiting for the code
    ENROL = "enrol"  # password right, second factor to be bound first
    CHANGE = "change"  # must choose a new password
    ACTIVE = "active"


class Ended(StrEnum):
    """Why a token no longer opens the door (shown on the login page)."""

    NONE = ""
    IDLE = "长时间未操作，会话已超时，请重新登录"
    EXPIRED = "登录已超过最长时限，请重新登录"
    LOGGED_OUT = "已退出登录"
    # Ended by the office (tasks/identity/accounts.py: a password or second factor reset, the
    # account deactivated), not by the person: told so, not "logged out".
    CHANGED = "巡察办调整了您的账户（重置密码、重置动态口令或停用账户），本次登录已结束；请重新登录，无法登录的请联系巡察办"
    UNKNOWN = "请先登录"


def digest(settings: Settings, token: str) -> str:
    """The stored form of a new token: its hash in the configured profile."""
    return digest_hex(profile_of(settings), token.encode())


def digests(token: str) -> list[str]:
    """The forms a live token may be stored in (a profile switch leaves sessions open)."""
    return [digest_hex(p, token.encode()) for p in PROFILES]


def next_stage(account: Account, cred: Credential, after: Stage | None) -> Stage:
    """Where a login goes after `after` (None: the password was just accepted)."""
    if after is None and needs_totp(account):
        return Stage.TOTP if cred.totp_enrolled_at else Stage.ENROL
    return Stage.CHANGE if cred.must_change else Stage.ACTIVE


def start(*, session: Session, settings: Settings, account: Account, now: datetime) -> tuple[str, LoginSession]:
    """A new session after the password; returns the token for the cookie."""
    cred = credential_of(session, account)
    assert cred is not None and account.id is not None
    token = secrets.token_urlsafe(32)
    row = LoginSession(token_hash=digest(settings, token), account_id=account.id, stage=next_stage(account, cred, None),
                       created_at=now, last_active_at=now)
    session.add(row)
    session.flush()
    return token, row


def start_verified(*, session: Session, settings: Settings, account: Account, now: datetime) -> str:
    """A session whose every step (password, second factor, password change) was passed in one
    go, as `xuncha login` asks them in turn; returns its token."""
    token, row = start(session=session, settings=settings, account=account, now=now)
    row.stage = Stage.ACTIVE
    session.add(row)
    return token


def record_login(*, session: Session, account: Account, action: str, now: datetime) -> str:
    """The audit record of a login. When the trail has lost rows it takes no new record; the login
    still goes ahead (the office must be able to get in and verify the trail) and the reason is
    returned to show the person."""
    try:
        with session.begin_nested():
            record_event(session=session, actor=account.name, action=action, entity="account", entity_id=account.id,
                         now=now)
    except DomainError as exc:
        return str(exc)
    return ""


@dataclass(frozen=True)
class Found:
    login: LoginSession | None
    account: Account | None
    ended: Ended


def find(*, session: Session, settings: Settings, token: str | None, now: datetime) -> Found:
    """The session behind a token and whether it is still alive (an idle or old one is ended)."""
    row = session.exec(select(LoginSession).where(col(LoginSession.token_hash).in_(digests(token)))).first() if token else None
    if row is None:
        return Found(None, None, Ended.UNKNOWN)
    if row.ended_at is not None:  # ended earlier: for the reason recorded then (none: a logout)
        return Found(row, None, Ended[row.end_reason] if row.end_reason in Ended.__members__ else Ended.LOGGED_OUT)
    account = session.get(Account, row.account_id)
    idle = timedelta(minutes=settings.session_idle_minutes if row.stage == Stage.ACTIVE else
                     min(settings.session_idle_minutes, STEP_MINUTES))
    ended = Ended.NONE
    if now - aware(row.created_at) > timedelta(hours=settings.session_max_hours):
        ended = Ended.EXPIRED
    elif now - aware(row.last_active_at) > idle:
        ended = Ended.IDLE
    if account is None or not account.active:
        ended = Ended.UNKNOWN
    if ended is not Ended.NONE:
        end(session=session, login=row, now=now, reason=ended)
        return Found(row, None, ended)
    return Found(row, account, ended)


def touch_due(login: LoginSession, now: datetime) -> bool:
    """Whether activity now would be recorded (at most once per TOUCH_SECONDS)."""
    return (now - aware(login.last_active_at)).total_seconds() >= TOUCH_SECONDS


def touch(*, session: Session, login: LoginSession, now: datetime) -> None:
    """Record activity by the person (not the page's own polling)."""
    if touch_due(login, now):
        login.last_active_at = now
        session.add(login)


def touch_id(*, session: Session, login_id: int, now: datetime) -> None:
    """touch() for a login read earlier in another transaction (the gateway reads it once per
    request): its row as it is now."""
    login = session.get(LoginSession, login_id)
    if login is not None and login.ended_at is None:
        touch(session=session, login=login, now=now)


def advance(*, session: Session, login: LoginSession, account: Account, now: datetime) -> Stage:
    cred = credential_of(session, account)
    assert cred is not None
    login.stage = next_stage(account, cred, Stage(login.stage))
    login.pending_secret_enc = ""
    login.last_active_at = now
    session.add(login)
    return Stage(login.stage)


def renew(*, session: Session, settings: Settings, login: LoginSession) -> str:
    """A new token for the same login (after the second factor, after a password change): a token
    seen or planted before the step (session fixation) no longer opens anything. Returns it."""
    token = secrets.token_urlsafe(32)
    login.token_hash = digest(settings, token)
    session.add(login)
    return token


def end_others(*, session: Session, login: LoginSession, now: datetime) -> int:
    """End every other live session of the login's account (its password was just changed)."""
    rows = session.exec(select(LoginSession).where(LoginSession.account_id == login.account_id,
                                                   LoginSession.id != login.id,
                                                   LoginSession.ended_at == None)).all()  # noqa: E711
    for row in rows:
        end(session=session, login=row, now=now)
    return len(rows)


def end(*, session: Session, login: LoginSession, now: datetime, reason: Ended = Ended.LOGGED_OUT) -> None:
    """End the session, recording why: every later request with its token is told the same."""
    login.ended_at, login.end_reason = now, reason.name
    session.add(login)


def end_all(*, session: Session, account: Account, now: datetime) -> int:
    """End every live session of the account, the office having changed it (a password or second
    factor reset, a deactivation): each later request with its tokens is told so."""
    rows = session.exec(select(LoginSession).where(LoginSession.account_id == account.id,
                                                   LoginSession.ended_at == None)).all()  # noqa: E711
    for row in rows:
        end(session=session, login=row, now=now, reason=Ended.CHANGED)
    return len(rows)
