"""The office's account command: set or reset a person's login password (and second factor).
The new initial password is printed here, once, for the office to hand over; it is stored
only as its argon2 hash and is written to no log or audit record."""

from __future__ import annotations

import typer

from deployments.cli.common import AS
from models.clock import now
from models.db import session_scope


def register(app: typer.Typer) -> None:
    @app.command("set-password")
    def set_password_cmd(
        name: str = typer.Argument(..., help="用户姓名（组织数据中的用户）"),
        by: str = AS,
        reset_totp: bool = typer.Option(False, "--reset-totp", help="同时作废已绑定的动态口令（如更换手机），下次登录时重新绑定"),
        prompt: bool = typer.Option(False, "--prompt", help="手工输入初始密码（不回显），不由系统生成"),
    ) -> None:
        """巡察办为用户设置或重置登录密码：生成一个初始密码（仅此处显示一次），首次登录时须修改；已登录的会话随即失效。"""
        from tasks.clues.ledger import account, guarded
        from tasks.identity.accounts import reset_password

        typed = typer.prompt("初始密码", hide_input=True, confirmation_prompt="再次输入") if prompt else None
        t = now()
        with session_scope() as s:
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
