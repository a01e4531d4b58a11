"""Logging in at the command line, and the office's account command.

`login` asks the same steps as the browser's login page, in turn: the password, the second factor
for 巡察办 and 领导小组 (bound here at the first login if not yet), and a new password when the
office has just set one. `set-password` prints a new initial password once, for the office to hand
over; it is stored only as its argon2 hash and is written to no log or audit record."""

from __future__ import annotations

import typer
from sqlmodel import Session

from deployments.cli import door
from deployments.cli.common import cli_command, fail
from models.clock import aware, now
from models.db import get_engine, session_scope
from models.enums import AccessRole
from models.errors import DomainError
from models.settings import get_settings
from models.tables import Account
from tasks.identity import credentials, sessions
from tasks.identity.credentials import LoginRefused


def _second_factor(s: Session, account: Account) -> None:
    settings = get_settings()
    cred = credentials.credential_of(s, account)
    assert cred is not None
    if cred.totp_enrolled_at is None:
        secret = credentials.new_totp_secret()
        typer.echo("首次登录须绑定动态口令：请在手机的身份验证器应用（如微信小程序“腾讯身份验证器”、Google Authenticator）"
                   f"中手动添加密钥\n  {secret}\n（或导入链接 {credentials.provisioning_uri(account, secret)}），然后输入它显示的6位动态口令。")
        code = typer.prompt("动态口令")
        credentials.check_totp(session=s, settings=settings, account=account, code=code, now=now(), secret=secret)
    else:
        code = typer.prompt("动态口令（手机身份验证器中的6位数字）")
        credentials.check_totp(session=s, settings=settings, account=account, code=code, now=now())


def _first_change(s: Session, account: Account, old: str) -> None:
    typer.echo("这是巡察办设置的初始密码，须先修改（至少10位，同时包含字母和数字，不含本人姓名）。")
    new = typer.prompt("新密码", hide_input=True)
    repeat = typer.prompt("再次输入新密码", hide_input=True)
    credentials.change_password(session=s, account=account, old=old, new=new, repeat=repeat, now=now())


def login_cmd(name: str = typer.Argument(..., help="本人姓名（组织数据中的用户）")) -> None:
    """以本人账户登录命令行：此后的命令以本人身份办理、按本人角色核验权限；无操作超时或超过最长时限后须重新登录。"""
    settings = get_settings()
    path = settings.cli_session_file()
    password = typer.prompt("密码", hide_input=True)
    with Session(get_engine()) as s:
        try:
            account = credentials.check_password(session=s, settings=settings, name=name, password=password, now=now())
            if credentials.needs_totp(account):
                _second_factor(s, account)
            cred = credentials.credential_of(s, account)
            if cred is not None and cred.must_change:
                _first_change(s, account, password)
        except LoginRefused as exc:
            s.commit()  # the failure is counted and audited even though the login is refused
            fail(str(exc))
        except DomainError as exc:  # e.g. the audit trail refuses new records
            s.rollback()
            fail(str(exc))
        except BaseException:
            s.rollback()
            raise
        earlier = sessions.find(session=s, settings=settings, token=door.read_token(path), now=now())
        if earlier.login is not None and earlier.login.ended_at is None:
            sessions.end(session=s, login=earlier.login, now=now())
        token = sessions.start_verified(session=s, settings=settings, account=account, now=now())
        problem = sessions.record_login(session=s, account=account, action="命令行登录", now=now())
        unrecorded = f"\n注意：{problem}（本次登录未能记入审计日志）" if problem else ""
        who, role = account.name, AccessRole(account.role).value
        s.commit()
    door.save_token(path, token=token, name=who)
    typer.echo(f"已登录：{who}（{role}）。{settings.session_idle_minutes:g}分钟无操作或登录满{settings.session_max_hours:g}小时后"
               f"须重新登录；退出登录：{cli_command()} logout" + unrecorded)


def logout_cmd() -> None:
    """退出命令行登录（本机本用户保存的登录凭据随即作废）。"""
    settings = get_settings()
    path = settings.cli_session_file()
    with session_scope() as s:
        found = sessions.find(session=s, settings=settings, token=door.read_token(path), now=now())
        if found.login is not None and found.login.ended_at is None:
            sessions.end(session=s, login=found.login, now=now())
        name = found.account.name if found.account else ""
    door.clear_token(path)
    typer.echo(f"{name}已退出登录。" if name else "当前未登录。")


def whoami_cmd() -> None:
    """显示命令行当前以谁的身份登录、角色和会话剩余时间。"""
    settings = get_settings()
    with session_scope() as s:
        found = sessions.find(session=s, settings=settings, token=door.read_token(settings.cli_session_file()), now=now())
        if found.account is None or found.login is None:
            why = "" if found.ended in (sessions.Ended.UNKNOWN, sessions.Ended.NONE) else f"（{found.ended.value}）"
            typer.echo(f"当前未登录{why}。登录：{cli_command()} login 姓名")
            return
        idle = settings.session_idle_minutes - (now() - aware(found.login.last_active_at)).total_seconds() / 60
        typer.echo(f"{found.account.name}（{AccessRole(found.account.role).value}），"
                   f"再有{max(idle, 0):.0f}分钟无操作将须重新登录。")


def set_password_cmd(
    name: str = typer.Argument(..., help="用户姓名（组织数据中的用户）"),
    reset_totp: bool = typer.Option(False, "--reset-totp", help="同时作废已绑定的动态口令（如更换手机），下次登录时重新绑定"),
    prompt: bool = typer.Option(False, "--prompt", help="手工输入初始密码（不回显），不由系统生成"),
) -> None:
    """巡察办为用户设置或重置登录密码：生成一个初始密码（仅此处显示一次），首次登录时须修改；已登录的会话随即失效。
    新安装时尚无人能登录，可先不登录为一名巡察办用户设置首个初始密码。"""
    from tasks.clues.ledger import account, guarded
    from tasks.identity.accounts import first_office_password, reset_password

    typed = typer.prompt("初始密码", hide_input=True, confirmation_prompt="再次输入") if prompt else None
    t = now()
    with session_scope() as s:
        if door.first_setup():
            done = first_office_password(session=s, actor=door.actor(), name=name, now=t, password=typed)
        else:
            by = door.actor()
            done = guarded(s, by=by, action="重置密码", entity="account", entity_id=None, now=t,
                           work=lambda: reset_password(session=s, by=account(s, by), name=name, now=t,
                                                       password=typed, reset_totp=reset_totp))
        who, pw, ended = done.account.name, done.password, done.sessions_ended
    lines = [f"已为“{who}”重置登录密码，首次登录时须修改。"]
    if typed is None:
        lines.append(f"初始密码：{pw}\n（仅显示这一次，请当面或通过保密渠道交给本人，勿经提醒群转发。）")
    if reset_totp:
        lines.append("已绑定的动态口令已作废，下次登录时重新绑定。")
    if ended:
        lines.append(f"该用户已登录的{ended}个会话已失效。")
    typer.echo("\n".join(lines))
