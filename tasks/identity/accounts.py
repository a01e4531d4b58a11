"""The office sets or resets a person's password (and, if asked, their second factor). The new
password is returned to the caller to hand over once; it is stored only as its argon2 hash, and
the audit record says who reset whose password, never the password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from models.access import Action, require
from models.enums import AccessRole
from models.errors import DomainError
from models.settings import get_settings
from models.tables import Account, Credential
from tasks.identity import sessions, throttle
from tasks.identity.credentials import (
    credential_of,
    find_account,
    is_locked,
    needs_totp,
    new_initial_password,
    password_problem,
    set_password,
)
from tasks.infra.audit import record_event


@dataclass(frozen=True)
class Reset:
    account: Account
    password: str
    totp_reset: bool
    sessions_ended: int


def reset_password(*, session: Session, by: Account, name: str, now: datetime, password: str | None = None,
                   reset_totp: bool = False) -> Reset:
    """`by` (巡察办, MANAGE_ACCOUNTS) gives `name` a new initial password, to be changed at first
    login; their live sessions end. Raises Forbidden / DomainError, writing nothing."""
    require(by.role, Action.MANAGE_ACCOUNTS)
    account = find_account(session, name)
    if account is None:
        raise DomainError(f"“{name.strip()}”不是组织数据中的用户（请先在组织数据的 accounts 或“用户”工作表中登记）")
    if not account.active:
        raise DomainError(f"用户“{account.name}”已停用，不能设置密码")
    if password is not None and (problem := password_problem(password, name=account.name)):
        raise DomainError(f"初始密码不符合要求：{problem}")
    pw = password if password is not None else new_initial_password()
    set_password(session=session, account=account, password=pw, must_change=True, now=now)
    cred = credential_of(session, account)
    assert cred is not None
    if reset_totp:
        cred.totp_secret_enc, cred.totp_enrolled_at, cred.totp_last_step = "", None, 0
        session.add(cred)
    ended = sessions.end_all(session=session, account=account, now=now)
    # The waits counted against the name (tasks/identity/throttle.py) end with the reset: the
    # person logs in with the new password at once.
    throttle.forgive_name(session=session, settings=get_settings(), name=account.name)
    record_event(session=session, actor=by.name, action="重置密码", entity="account", entity_id=account.id, now=now,
                 detail={"account": account.name, "totp_reset": reset_totp, "second_factor": needs_totp(account)})
    return Reset(account, pw, reset_totp, ended)


def first_office_password(*, session: Session, actor: str, name: str, now: datetime, password: str | None = None) -> Reset:
    """On a new install, before any 巡察办 account has a password, the operator of the machine gives
    the first one to a 巡察办 account (who then sets everyone else's); audited as `actor`."""
    account = find_account(session, name)
    if account is None or AccessRole(account.role) is not AccessRole.OFFICE:
        raise DomainError(f"尚无巡察办用户设置过密码：请先为一名巡察办用户设置初始密码（“{name.strip()}”不是巡察办用户），"
                          "由其登录后再为其他人设置")
    if password is not None and (problem := password_problem(password, name=account.name)):
        raise DomainError(f"初始密码不符合要求：{problem}")
    pw = password if password is not None else new_initial_password()
    set_password(session=session, account=account, password=pw, must_change=True, now=now)
    record_event(session=session, actor=actor, action="设置首个巡察办用户的初始密码", entity="account",
                 entity_id=account.id, now=now, detail={"account": account.name})
    return Reset(account, pw, False, 0)


def _managed(session: Session, by: Account, name: str) -> Account:
    """The account `by` (巡察办, MANAGE_ACCOUNTS) acts on; Forbidden / DomainError otherwise."""
    require(by.role, Action.MANAGE_ACCOUNTS)
    account = find_account(session, name)
    if account is None:
        raise DomainError(f"“{name.strip()}”不是组织数据中的用户")
    return account


def reset_second_factor(*, session: Session, by: Account, name: str, now: datetime) -> Reset:
    """Void `name`'s bound TOTP key (a lost or new phone): the next login binds a new one; their
    live sessions end. The password stays."""
    account = _managed(session, by, name)
    if not needs_totp(account):
        raise DomainError(f"用户“{account.name}”的角色不使用动态口令，无需重置")
    cred = credential_of(session, account)
    if cred is None or cred.totp_enrolled_at is None:
        raise DomainError(f"用户“{account.name}”尚未绑定动态口令，无需重置（下次登录时绑定）")
    cred.totp_secret_enc, cred.totp_enrolled_at, cred.totp_last_step, cred.updated_at = "", None, 0, now
    session.add(cred)
    ended = sessions.end_all(session=session, account=account, now=now)
    record_event(session=session, actor=by.name, action="重置动态口令", entity="account", entity_id=account.id, now=now,
                 detail={"account": account.name})
    return Reset(account, "", True, ended)


def set_active(*, session: Session, by: Account, name: str, active: bool, now: datetime) -> Reset:
    """Deactivate (or reactivate) `name`: a deactivated account cannot log in and its live sessions
    end at once. The office cannot deactivate itself (so one 巡察办 account always stays active)."""
    account = _managed(session, by, name)
    if account.active is active:
        raise DomainError(f"用户“{account.name}”已是{'启用' if active else '停用'}状态")
    ended = 0
    if not active:
        # The one acting stays active, so the office is never left without an account.
        if account.id == by.id:
            raise DomainError("不能停用本人的账户（请由另一名巡察办用户办理）")
        ended = sessions.end_all(session=session, account=account, now=now)
    account.active = active
    session.add(account)
    record_event(session=session, actor=by.name, action="启用用户" if active else "停用用户", entity="account",
                 entity_id=account.id, now=now, detail={"account": account.name, "sessions_ended": ended})
    return Reset(account, "", False, ended)


@dataclass(frozen=True)
class AccountLine:
    """One row of the office's accounts page: no hash, no key, only what the clerk decides on."""
    name: str
    role: str
    active: bool
    password: str  # 未设置 / 待本人修改 / 已设置
    second_factor: str  # 不需要 / 未绑定 / 已绑定
    locked: bool


def account_lines(*, session: Session, by: Account, now: datetime) -> list[AccountLine]:
    """Every account, for 巡察办 (MANAGE_ACCOUNTS)."""
    require(by.role, Action.MANAGE_ACCOUNTS)
    creds = {c.account_id: c for c in session.exec(select(Credential))}
    lines = []
    for acc in session.exec(select(Account).order_by(Account.role, Account.name)):
        cred = creds.get(acc.id or 0)
        password = "未设置" if cred is None else ("待本人修改" if cred.must_change else "已设置")
        factor = ("不需要" if not needs_totp(acc) else
                  "已绑定" if cred is not None and cred.totp_enrolled_at is not None else "未绑定")
        lines.append(AccountLine(acc.name, AccessRole(acc.role).value, acc.active, password, factor,
                                 cred is not None and is_locked(cred, now)))
    return lines
