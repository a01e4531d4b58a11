"""未送达提醒 at /office/alerts (office only; deployments/gateway/office.py routes here): the alerts
with no recipient or given up on after repeated failures, and the two things the office can do
about one — re-send it (after correcting the address in the org data) or mark it handled —
through tasks/infra/undelivered.py, which checks the role again and audits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from deployments.gateway.office_forms import PREFIX, after_post, notice_of
from deployments.gateway.web import db
from models.access import Forbidden
from models.clock import now
from models.errors import DomainError
from tasks.infra import undelivered

if TYPE_CHECKING:
    from deployments.gateway.office import Office, Who


async def _page(office: Office, request: Request, who: Who, *, status: int = 200, error: str = "") -> Response:
    def read(s: Session) -> tuple[list[undelivered.Undelivered], undelivered.Summary]:
        return undelivered.undelivered(session=s, settings=office.gw.settings, by=who.name), undelivered.summary(session=s)

    rows, counts = await db(read)
    return office.render(request, who, "alerts.html", status=status, rows=rows, counts=counts, error=error,
                         notice="" if error else notice_of(office.gw, who.login, request))


async def view(office: Office, request: Request, who: Who) -> Response:
    return await _page(office, request, who)


async def resend(office: Office, request: Request, who: Who) -> Response:
    alert_id, t = office._int(request.path_params["alert_id"]), now()
    try:
        done = await db(lambda s: undelivered.resend(session=s, settings=office.gw.settings, by=who.name,
                                                     alert_id=alert_id, now=t))
    except Forbidden:
        raise
    except DomainError as exc:
        return await _page(office, request, who, status=400, error=f"提醒{alert_id}未重新发送：{exc}")
    where = "、".join(done.addresses)
    text = (f"提醒{alert_id}已重新排队发送（{where}）" if done.same
            else f"提醒{alert_id}已改发至新的接收地址（{where}）")
    return after_post(office.gw, who.login, f"{PREFIX}/alerts", text)


async def handled(office: Office, request: Request, who: Who) -> Response:
    alert_id, t = office._int(request.path_params["alert_id"]), now()
    note = office.form(request).get("note", "")
    try:
        await db(lambda s: undelivered.mark_handled(session=s, settings=office.gw.settings, by=who.name,
                                                    alert_id=alert_id, note=note, now=t))
    except Forbidden:
        raise
    except DomainError as exc:
        return await _page(office, request, who, status=400, error=f"提醒{alert_id}未标为已处理：{exc}")
    return after_post(office.gw, who.login, f"{PREFIX}/alerts", f"提醒{alert_id}已标为已处理")
