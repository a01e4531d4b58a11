"""节假日安排 at /office/holidays (office only; deployments/gateway/office.py routes here): the years
the working-day calendar knows, and a year's holidays and adjusted working days (调休) entered or
replaced as the State Council's notice gives them, through the same domain function as
`xuncha set-holidays` (tasks/infra/holidays.py): validated, audited, and the provisional deadlines
recomputed in the same transaction."""

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
from models.tables import HolidayYear
from tasks.infra import holidays

if TYPE_CHECKING:
    from deployments.gateway.office import Office, Who

EXAMPLE = "元旦:\n  放假: {y}-01-01 至 {y}-01-03\n春节:\n  放假: {y}-02-06 至 {y}-02-13\n  调休上班: {y}-02-14、{y}-02-20\n"


async def _page(office: Office, request: Request, who: Who, *, status: int = 200, error: str = "",
                values: dict[str, str] | None = None) -> Response:
    t = now()
    asked = request.query_params.get("year", "")

    def read(s: Session) -> tuple[list[holidays.YearLine], list[str], str]:
        lines = holidays.known_years(session=s, settings=office.gw.settings, by=who.name, today=t.date())
        missing = holidays.missing_years(session=s, settings=office.gw.settings, today=t.date())
        row = s.get(HolidayYear, int(year)) if year.isdigit() and len(year) == 4 else None
        return lines, missing, holidays.notice_text(row.festivals) if row is not None else ""

    # The year asked for (查看、更正), else next year; shown as entered, if it is.
    year = (values or {}).get("year") or asked or str(t.year + 1)
    lines, missing, stored = await db(read)
    text = (values or {}).get("text", stored)
    return office.render(request, who, "holidays.html", status=status, years=lines, missing=missing, year=year,
                         text=text, example=EXAMPLE.format(y=year if year.isdigit() else t.year + 1), error=error,
                         notice="" if error else notice_of(office.gw, who.login, request))


async def view(office: Office, request: Request, who: Who) -> Response:
    return await _page(office, request, who)


async def enter(office: Office, request: Request, who: Who) -> Response:
    form, t = office.form(request), now()
    raw = form.get("year", "").strip()
    if not (raw.isdigit() and len(raw) == 4):
        return await _page(office, request, who, status=400, error=f"年份“{raw}”不对，应为如 2027 这样的四位年份",
                           values=form)
    year = int(raw)
    try:
        done = await db(lambda s: holidays.enter_year(session=s, settings=office.gw.settings, by=who.name, year=year,
                                                      text=form.get("text", ""), now=t))
    except Forbidden:
        raise
    except DomainError as exc:
        return await _page(office, request, who, status=400, error=f"{year}年节假日安排未保存：{exc}", values=form)
    return after_post(office.gw, who.login, f"{PREFIX}/holidays",
                      f"已{'替换' if done.replaced else '录入'}{year}年节假日安排（{done.festivals}个节日，放假{done.rest_days}天，"
                      f"调休上班{done.working_days}天）；" + holidays.moved_text(done.moved))
