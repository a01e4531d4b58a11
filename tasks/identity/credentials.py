"""Passwords (argon2id, argon2-cffi), the second factor (TOTP, pyotp) and lock-out.

A person logs in with the name of their account in the org data. `login_max_failures` failures
in a row lock the account for `login_lockout_minutes` and alert the office; a wrong second-factor
code counts as a failure too. Before that, the gateway slows failures per source and per name
(tasks/identity/throttle.py). An unknown name, a wrong password and a locked account with a wrong
password get one answer, so nobody learns which names exist; only the right password is told of
a lock. The office sets an initial password, which must be changed at the first login; 巡察办 and
领导小组 accounts need a TOTP code as well."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import InvalidToken
from sqlmodel import Session, select

from models.clock import aware
from models.enums import AccessRole, Role
from models.errors import DomainError
from models.settings import Settings
from models.tables import Account, Credential
from tasks.identity.keys import sealer
from tasks.infra.alerts import enqueue_alert
from tasks.infra.audit import record_event, record_refusal

HASHER = PasswordHasher()  # argon2id with the library's current parameters
TOTP_ROLES = frozenset({AccessRole.OFFICE, AccessRole.LEADING_GROUP})
ISSUER = "巡察工作系统"
PASSWORD_MIN = 10
# An initial password is read out or handed over: no 0/O, 1/l/I.
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class LoginRefused(DomainError):
    """A login step that did not succeed; the message is shown on the login page."""


# The one answer to an unknown name, a wrong password, an unset password and a deactivated account.
WRONG = "姓名或密码不正确"
WRONG_CODE = "动态口令不正确或已使用过"
WRONG_OLD = "原密码不正确"


def needs_totp(account: Account) -> bool:
    return AccessRole(account.role) in TOTP_ROLES


def new_initial_password() -> str:
    while True:
        pw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        if not password_problem(pw, name=""):
            return pw


def password_problem(password: str, *, name: str) -> str:
    """Why this password may not be used, in Chinese; empty when it may."""
    if len(password) < PASSWORD_MIN:
        return f"密码至少{PASSWORD_MIN}位"
    if len(password) > 128:
        return "密码不能超过128位"
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        return "密码须同时包含字母和数字"
    if name and name in password:
        return "密码不能包含本人姓名"
    return ""


def find_account(session: Session, name: str) -> Account | None:
    return session.exec(select(Account).where(Account.name == name.strip())).first()


def credential_of(session: Session, account: Account) -> Credential | None:
    return session.exec(select(Credential).where(Credential.account_id == account.id)).first()


def set_password(*, session: Session, account: Account, password: str, must_change: bool, now: datetime) -> Credential:
    """Store a new password hash; the failures and any lock are cleared."""
    assert account.id is not None
    cred = credential_of(session, account) or Credential(account_id=account.id, password_hash="", updated_at=now)
    cred.password_hash = HASHER.hash(password)
    cred.must_change, cred.failures, cred.locked_until, cred.updated_at = must_change, 0, None, now
    session.add(cred)
    session.flush()
    return cred


def _locked_message(cred: Credential, settings: Settings) -> str:
    until = f"请于{aware(cred.locked_until):%H:%M}后再试，或" if cred.locked_until and settings.login_lockout_minutes else "请"
    return f"账户已锁定（连续{settings.login_max_failures}次登录失败），{until}联系巡察办重置密码"


def is_locked(cred: Credential, now: datetime) -> bool:
    return cred.locked_until is not None and aware(cred.locked_until) > now


def _fail(session: Session, settings: Settings, account: Account, cred: Credential, what: str, now: datetime) -> LoginRefused:
    """Count a failure (locking at the limit, and telling the office), audit it and build the
    refusal to raise: `what`, the same whether or not this failure locked the account."""
    cred.failures += 1
    if cred.failures >= settings.login_max_failures:
        minutes = settings.login_lockout_minutes
        # 0 minutes: locked until the office resets the password (a lock far in the future).
        cred.locked_until = now + (timedelta(minutes=minutes) if minutes else timedelta(days=36500))
        cred.failures = 0
    session.add(cred)
    record_refusal(session=session, actor=account.name, action="登录失败（被拒绝）", entity="account",
                   entity_id=account.id, now=now, detail={"reason": what})
    if cred.failures == 0:
        record_event(session=session, actor="系统", action="账户锁定", entity="account", entity_id=account.id, now=now,
                     detail={"account": account.name, "failures": settings.login_max_failures})
        _tell_office(session, settings, account, cred, now)
    return LoginRefused(what)


def _tell_office(session: Session, settings: Settings, account: Account, cred: Credential, now: datetime) -> None:
    """An alert to the office that an account locked: someone may be guessing its password."""
    until = (f"锁定至{aware(cred.locked_until):%m月%d日 %H:%M}" if cred.locked_until and settings.login_lockout_minutes
             else "锁定至巡察办重置密码")
    enqueue_alert(session=session, settings=settings, key=f"account:{account.id}:locked:{now.isoformat()}",
                  role=Role.OFFICE, title="【账户锁定】" + account.name,
                  body=f"账户“{account.name}”连续{settings.login_max_failures}次登录失败，已{until}。"
                       "如非本人输错，可能有人在猜测该账户的密码；请与本人核实，需要时用“set-password”重置密码。",
                  link=settings.office_link(), now=now)


def check_password(*, session: Session, settings: Settings, name: str, password: str, now: datetime) -> Account:
    """The account whose password this is; LoginRefused otherwise (the caller commits, so a
    failure is counted and audited even though the login is refused). Every wrong answer reads
    WRONG; a lock is told only to the right password."""
    account = find_account(session, name)
    cred = credential_of(session, account) if account is not None else None
    if account is None or cred is None or not account.active:
        HASHER.hash(password or "x")  # about the same time as a real check: names are not probed by timing
        record_refusal(session=session, actor=name.strip()[:50] or "（未署名）", action="登录失败（被拒绝）",
                       entity="account", entity_id=account.id if account else None, now=now,
                       detail={"reason": "无此用户、未设置密码或已停用"})
        raise LoginRefused(WRONG)
    try:
        HASHER.verify(cred.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        if is_locked(cred, now):  # not counted again, and not told: the answer of any wrong password
            record_refusal(session=session, actor=account.name, action="登录失败（被拒绝）", entity="account",
                           entity_id=account.id, now=now, detail={"reason": "账户锁定期间密码不正确"})
            raise LoginRefused(WRONG) from None
        raise _fail(session, settings, account, cred, WRONG, now) from None
    if is_locked(cred, now):
        raise LoginRefused(_locked_message(cred, settings))
    if HASHER.check_needs_rehash(cred.password_hash):
        cred.password_hash = HASHER.hash(password)
    if not needs_totp(account):
        cred.failures = 0  # with a second factor the count clears only after the code
    session.add(cred)
    return account


def change_password(*, session: Session, account: Account, old: str, new: str, repeat: str, now: datetime) -> None:
    """The person's own change (at first login, or later): the old one must be right."""
    cred = credential_of(session, account)
    assert cred is not None
    try:
        HASHER.verify(cred.password_hash, old)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise LoginRefused(WRONG_OLD) from None
    if new != repeat:
        raise LoginRefused("两次输入的新密码不一致")
    if problem := password_problem(new, name=account.name):
        raise LoginRefused(problem)
    if new == old:
        raise LoginRefused("新密码不能与原密码相同")
    set_password(session=session, account=account, password=new, must_change=False, now=now)
    record_event(session=session, actor=account.name, action="修改密码", entity="account", entity_id=account.id, now=now)


# Second factor ------------------------------------------------------------------------------

TOTP_PURPOSE = "totp-secret"


def seal_secret(settings: Settings, secret: str) -> str:
    """A TOTP secret at rest: Fernet or SM4-GCM by the profile, under a key from the identity key."""
    return sealer(settings, TOTP_PURPOSE).seal(secret.encode())


def open_secret(settings: Settings, token: str) -> str:
    try:
        return sealer(settings, TOTP_PURPOSE).open(token).decode()
    except InvalidToken:
        raise DomainError("无法读取动态口令密钥：身份密钥已更换，请联系巡察办重新绑定") from None


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(account: Account, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account.name, issuer_name=ISSUER)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step the code belongs to (this one or one either side: clocks drift), or None."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    for drift in (0, -1, 1):
        at = now + timedelta(seconds=30 * drift)
        if secrets.compare_digest(totp.at(at), code):
            return int(totp.timecode(at))
    return None


def check_totp(*, session: Session, settings: Settings, account: Account, code: str, now: datetime,
               secret: str | None = None) -> None:
    """Accept a code once (a code seen before is refused: no replay). `secret` is the one being
    enrolled; otherwise the stored one. A wrong code counts towards the lock-out."""
    cred = credential_of(session, account)
    assert cred is not None
    if is_locked(cred, now):
        raise LoginRefused(_locked_message(cred, settings))
    enrolling = secret is not None
    key = secret if secret is not None else open_secret(settings, cred.totp_secret_enc)
    step = _matching_step(key, code, now)
    if step is None or step <= cred.totp_last_step:
        refusal = _fail(session, settings, account, cred, WRONG_CODE, now)
        # The password was right: the person may be told that this code locked the account.
        raise LoginRefused(_locked_message(cred, settings)) if is_locked(cred, now) else refusal
    cred.totp_last_step, cred.failures = step, 0
    if enrolling:
        cred.totp_secret_enc, cred.totp_enrolled_at = seal_secret(settings, key), now
        record_event(session=session, actor=account.name, action="绑定动态口令", entity="account",
                     entity_id=account.id, now=now)
    session.add(cred)
