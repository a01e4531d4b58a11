"""The office sets or resets a person's password (and, if asked, their second factor). The new
password is returned to the caller to hand over once; it is stored only as its argon2 hash, and
the audit record says who reset whose password, never the password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from models.access import Action, require
from models.enums import AccessRole
from models.errors import DomainError
from models.tables import Account
from tasks.identity import sessions
from tasks.identity.credentials import (
    credential_of,
    find_account,
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
