"""The CLI's front door: who runs this command. `xuncha login` keeps a random token in a file only
this operating-system user can read (0600, in a 0700 folder); the database keeps only its SHA-256,
like a browser's login, and the same idle and total time-outs end it. Before a command runs, the
role table (models/access.py COMMANDS) says what it does and the logged-in person's role must allow
it; a refusal is written to the audit log. Commands name the person acting with `actor()`."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlmodel import Session, col, func, select

from models.access import (
    AUDITED_COMMANDS,
    COMMANDS,
    FIRST_SETUP,
    OWNER_COMMANDS,
    Forbidden,
    require,
)
from models.clock import now
from models.db import session_scope
from models.enums import AccessRole
from models.errors import DomainError
from models.settings import Settings, get_settings
from models.tables import Account, Credential
from tasks.identity import sessions
from tasks.infra.audit import record_event, record_refusal

T = TypeVar("T")

# The actor of a command run before anyone can log in (FIRST_SETUP), as the audit log names it.
FIRST_SETUP_ACTOR = "初始设置（本机操作系统用户）"


class NotLoggedIn(DomainError):
    """No live login on this machine for this database."""


@dataclass(frozen=True)
class Actor:
    name: str
    role: AccessRole | None  # None: first set-up, nobody can log in yet, or the data folder's owner
    owner: bool = False  # the data folder's OS owner, without a login (OWNER_COMMANDS, `--operator`)


_current: ContextVar[Actor | None] = ContextVar("cli_actor", default=None)


def actor() -> str:
    """The name of the person running the current command (checked by `admit`)."""
    who = _current.get()
    if who is None:
        raise RuntimeError("actor() outside a command that requires a login")
    return who.name


def first_setup() -> bool:
    """Whether the current command runs on a new install without a login."""
    who = _current.get()
    return who is not None and who.role is None and not who.owner


# The token file ---------------------------------------------------------------------------

def save_token(path: Path, *, token: str, name: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"token": token, "name": name}, fh, ensure_ascii=False)
    os.replace(tmp, path)


def read_token(path: Path) -> str | None:
    """The stored token; None when there is none. A file others can read is not trusted."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        path.unlink(missing_ok=True)
        raise NotLoggedIn(f"登录凭据文件 {path} 的权限过宽（其他用户可读），已删除，请重新登录")
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["token"])
    except (ValueError, KeyError, TypeError):
        return None


def clear_token(path: Path) -> None:
    path.unlink(missing_ok=True)


# The check before a command -----------------------------------------------------------------

def new_install(s: Session, command: str) -> bool:
    if command == "load-org":
        return s.exec(select(func.count()).select_from(Account)).one() == 0
    if command == "set-password":
        office_with_password = (select(Credential.id).join(Account, col(Account.id) == Credential.account_id)
                                .where(Account.role == AccessRole.OFFICE.value))
        return s.exec(office_with_password).first() is None
    return False


def _not_logged_in(ended: sessions.Ended) -> NotLoggedIn:
    from deployments.cli.naming import cli_command

    why = "" if ended in (sessions.Ended.UNKNOWN, sessions.Ended.NONE) else f"（{ended.value}）"
    return NotLoggedIn(f"尚未登录{why}：请先运行 {cli_command()} login 姓名")


def _check(s: Session, settings: Settings, command: str) -> Actor | DomainError:
    """The person running `command`, or the refusal to raise (already written to the audit log)."""
    rule = COMMANDS[command]
    assert rule is not None
    t = now()
    found = sessions.find(session=s, settings=settings, token=read_token(settings.cli_session_file()), now=t)
    if found.account is None or found.login is None or found.login.stage != sessions.Stage.ACTIVE:
        if command in FIRST_SETUP and new_install(s, command):
            return Actor(FIRST_SETUP_ACTOR, None)
        return _not_logged_in(found.ended)
    sessions.touch(session=s, login=found.login, now=t)
    role = AccessRole(found.account.role)
    try:
        require(role, rule.action)
    except Forbidden as exc:
        try:
            record_refusal(session=s, actor=found.account.name, action=f"{rule.audit_name}（被拒绝）", entity="command",
                           entity_id=None, now=t, detail={"command": command, "reason": str(exc)[:500]})
        except DomainError as audit:  # the trail has lost rows: say so as well as the refusal
            s.rollback()
            return Forbidden(f"{exc}\n{audit}")
        return exc
    return Actor(found.account.name, role)


def owner_of_data_folder(command: str) -> Actor:
    """The data folder's operating-system owner running `command` without a login (OWNER_COMMANDS)."""
    import pwd

    if command not in OWNER_COMMANDS:
        raise DomainError(f"命令 {command} 须由有权限的用户登录后运行")
    home = get_settings().home.resolve()
    try:
        uid = home.stat().st_uid
    except FileNotFoundError:
        raise DomainError(f"数据目录 {home} 不存在") from None
    if uid != os.geteuid():
        raise Forbidden(f"--operator 只限数据目录 {home} 的所有者（操作系统用户 {pwd.getpwuid(uid).pw_name}）使用；"
                        f"其他人请先登录（{command} 限巡察办）")
    return Actor(f"数据目录所有者（操作系统用户 {pwd.getpwuid(uid).pw_name}）", None, owner=True)


def admit(command: str, *, owner: bool = False) -> Actor | None:
    """Check the person before `command` runs; None for an operator's command (no login).
    `owner`: the data folder's OS owner asks to run it without a login (OWNER_COMMANDS only)."""
    if COMMANDS[command] is None:
        return None
    if owner:
        return owner_of_data_folder(command)
    with session_scope() as s:
        outcome = _check(s, get_settings(), command)  # committed: the refusal's audit record stays
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def record_run(command: str, who: Actor) -> None:
    """The audit record of a confidential command that has none of its own."""
    if command not in AUDITED_COMMANDS:
        return
    rule = COMMANDS[command]
    assert rule is not None
    with session_scope() as s:
        record_event(session=s, actor=who.name, action=f"命令行：{rule.action.value}", entity="command", entity_id=None,
                     now=now(), detail={"command": command})


def run_as(who: Actor | None, work: Callable[[], T]) -> T:
    token = _current.set(who)
    try:
        return work()
    finally:
        _current.reset(token)
