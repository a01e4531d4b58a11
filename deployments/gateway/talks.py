"""个别谈话 at /office/talks (deployments/gateway/office.py routes here): the talk plan and records
of the units the person's team inspects (巡察办: every unit in stationing or reporting), the forms
to plan a talk and record one, and a record's page. Through the same domain functions as the
CLI (tasks/stationing/talks.py): the team's reach checked there, every read of a person or a
text audited there; the lists show numbers, inspectors and days only."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from deployments.gateway.office_forms import PREFIX, after_post, notice_of
from deployments.gateway.web import db
from models.access import Action, Forbidden
from models.clock import now
from models.errors import DomainError
from tasks.clues import views
from tasks.stationing import talks

if TYPE_CHECKING:
    from deployments.gateway.office import Office, Who


def _units(s: Session, who: Who) -> list[dict[str, Any]]:
    t = now()
    return [{"id": c.id, "label": c.label, "rows": talks.talk_overview(session=s, by=who.name, inspection_id=c.id, now=t)}
            for c in views.receiving_inspections(session=s, by=who.name, action=Action.RECORD_TALKS)]


async def _page(office: Office, request: Request, who: Who, *, status: int = 200, error: str = "",
                values: dict[str, str] | None = None, form: str = "") -> Response:
    units = await db(lambda s: _units(s, who))
    return office.render(request, who, "talks.html", status=status, units=units, values=values or {}, form=form,
                         error=error, notice="" if error else notice_of(office.gw, who.login, request))


async def view(office: Office, request: Request, who: Who) -> Response:
    return await _page(office, request, who)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError("请填写谈话日期（年-月-日）") from None


def _inspection(form: dict[str, str]) -> int:
    try:
        return int(form.get("inspection", ""))
    except ValueError:
        raise DomainError("请选择被巡察单位") from None


async def plan(office: Office, request: Request, who: Who) -> Response:
    form, t = office.form(request), now()
    try:
        row = await db(lambda s: talks.plan_talk(
            session=s, settings=office.gw.settings, by=who.name, inspection_id=_inspection(form),
            person=talks.Person(form.get("person", ""), form.get("post", "")), talker=form.get("talker", ""),
            planned_on=_day(form.get("day", "")), purpose=form.get("purpose", ""), now=t))
    except Forbidden:
        raise
    except DomainError as exc:
        return await _page(office, request, who, status=400, error=f"谈话安排未保存：{exc}", values=form, form="plan")
    return after_post(office.gw, who.login, f"{PREFIX}/talks", f"已安排个别谈话，编号{row.id}（谈话对象和事由已加密保存）")


async def record(office: Office, request: Request, who: Who) -> Response:
    form, t = office.form(request), now()
    plan_text = form.get("plan", "").strip()
    try:
        plan_id = int(plan_text) if plan_text else None
    except ValueError:
        return await _page(office, request, who, status=400, error="谈话记录未保存：谈话安排编号应为数字",
                           values=form, form="record")
    name = form.get("person", "").strip()
    try:
        row = await db(lambda s: talks.record_talk(
            session=s, settings=office.gw.settings, by=who.name, inspection_id=_inspection(form),
            talker=form.get("talker", ""), held_on=_day(form.get("day", "")), content=form.get("content", ""),
            person=talks.Person(name, form.get("post", "")) if name else None, plan_id=plan_id, now=t))
    except Forbidden:
        raise
    except DomainError as exc:
        return await _page(office, request, who, status=400, error=f"谈话记录未保存：{exc}", values=form, form="record")
    return after_post(office.gw, who.login, f"{PREFIX}/talks", f"已登记谈话记录，编号{row.id}（谈话对象和内容已加密保存）")


async def show(office: Office, request: Request, who: Who) -> Response:
    record_id, t = office._int(request.path_params["record_id"]), now()
    row = await db(lambda s: talks.read_talk(session=s, settings=office.gw.settings, by=who.name, record_id=record_id, now=t))
    return office.render(request, who, "talk.html", row=row)
