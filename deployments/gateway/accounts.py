"""用户管理 at /office/accounts (office only; deployments/gateway/office.py routes here): every
account with its password and second-factor state; the office sets or resets a password (a new
initial one, shown on the answer page once and never put in an address or a log), resets the
second factor, and deactivates or reactivates an account. The same domain functions as
`xuncha set-password` (tasks/identity/accounts.py), so the role check and the audit record are
the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from deployments.gateway.office_forms import PREFIX, after_post, notice_of
from deployments.gateway.web import db
from models.access import Forbidden
from models.clock import now
from models.errors import DomainError
from models.tables import Account
from tasks.identity import accounts

if TYPE_CHECKING:
    from deployments.gateway.office import Office, Who


async def _page(office: Office, request: Request, who: Who, *, status: int = 200, error: str = "",
                shown: accounts.Reset | None = None) -> Response:
    t = now()
    lines = await db(lambda s: accounts.account_lines(session=s, by=_me(s, who), now=t))
    return office.render(request, who, "accounts.html", status=status, lines=lines, error=error, shown=shown,
                         notice="" if error or shown else notice_of(office.gw, who.login, request))


def _me(session: Session, who: Who) -> Account:
    """The acting account as it is now (a deactivated or demoted one is refused)."""
    me = session.get(Account, who.account.id)
    if me is None or not me.active:
        raise Forbidden("您的账户已停用")
    return me


async def view(office: Office, request: Request, who: Who) -> Response:
    return await _page(office, request, who)


async def _act(office: Office, request: Request, who: Who,
               work: Callable[[Session, Account, str], accounts.Reset], done: Callable[[accounts.Reset], str]) -> Response:
    name = office.form(request).get("name", "").strip()
    if not name:
        return await _page(office, request, who, status=400, error="请选择用户")
    try:
        result = await db(lambda s: work(s, _me(s, who), name))
    except Forbidden:
        raise
    except DomainError as exc:
        return await _page(office, request, who, status=400, error=str(exc))
    if result.password:  # shown here once: not in the address, not in a notice that could be re-opened
        return await _page(office, request, who, shown=result)
    return after_post(office.gw, who.login, f"{PREFIX}/accounts", done(result))


async def reset_password(office: Office, request: Request, who: Who) -> Response:
    t = now()
    return await _act(office, request, who,
                      lambda s, me, name: accounts.reset_password(session=s, by=me, name=name, now=t), lambda r: "")


async def reset_second_factor(office: Office, request: Request, who: Who) -> Response:
    t = now()
    return await _act(office, request, who,
                      lambda s, me, name: accounts.reset_second_factor(session=s, by=me, name=name, now=t),
                      lambda r: f"已重置“{r.account.name}”的动态口令，下次登录时重新绑定"
                                + (f"；其已登录的{r.sessions_ended}个会话已失效" if r.sessions_ended else ""))


async def set_active(office: Office, request: Request, who: Who) -> Response:
    active, t = office.form(request).get("active") == "1", now()
    return await _act(office, request, who,
                      lambda s, me, name: accounts.set_active(session=s, by=me, name=name, active=active, now=t),
                      lambda r: f"已{'启用' if active else '停用'}用户“{r.account.name}”"
                                + (f"；其已登录的{r.sessions_ended}个会话已失效" if r.sessions_ended else ""))
