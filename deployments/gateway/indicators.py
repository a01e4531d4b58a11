"""巡察指标 at /office/indicators (deployments/gateway/office.py routes here): the coverage of the units
on site that the person may view (a team role: its own team's), a form to record an examination
(indicator, methods, findings) through the same domain function as `xuncha examine`
(tasks/stationing/indicators.py: role, reach, stage, audit), and the library with its 示例 marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from deployments.gateway.office_forms import PREFIX, after_post, notice_of
from deployments.gateway.web import db
from models.access import Action, Forbidden
from models.clock import now
from models.errors import DomainError
from models.indicator_tables import Indicator
from models.tables import Inspection
from tasks.clues.ledger import account, guarded
from tasks.stationing import indicators as ind

if TYPE_CHECKING:
    from deployments.gateway.office import Office, Who


async def _page(office: Office, request: Request, who: Who, *, status: int = 200, error: str = "",
                values: dict[str, str] | None = None) -> Response:
    def read(s: Session) -> tuple[list[ind.UnitCoverage], list[Indicator]]:
        return ind.coverage_in_reach(session=s, account=account(s, who.name)), ind.library(session=s)

    units, rows = await db(read)
    return office.render(request, who, "indicators.html", status=status, units=units, library=rows,
                         shown=ind.shown_name, methods=ind.METHODS, values=values or {}, error=error,
                         sample_note=any(i.sample for i in rows),
                         lines=lambda cov: ind.coverage_lines(cov, command_hint=False),
                         notice="" if error else notice_of(office.gw, who.login, request))


async def view(office: Office, request: Request, who: Who) -> Response:
    return await _page(office, request, who)


async def examine(office: Office, request: Request, who: Who) -> Response:
    form, t = office.form(request), now()
    methods = [v for k, v in form.items() if k.startswith("method-")]
    try:
        inspection_id = int(form.get("inspection", "0"))
        numbers = ind.finding_numbers(form.get("findings", ""))

        def work(s: Session) -> str:
            insp = s.get(Inspection, inspection_id)
            if insp is None:
                raise DomainError("请选择被巡察单位")
            who_acc = account(s, who.name)
            guarded(s, by=who.name, action=Action.RECORD_EXAMINATION.value, entity="inspection", entity_id=inspection_id,
                    now=t, work=lambda: ind.record_check(session=s, account=who_acc, inspection=insp,
                                                         indicator=form.get("indicator", ""), methods=methods,
                                                         finding_ids=numbers, note=form.get("note", ""), now=t))
            return ind.coverage(session=s, inspection_id=inspection_id).label

        label = await db(work)
    except Forbidden:
        raise
    except (DomainError, ValueError) as exc:
        reason = str(exc) if isinstance(exc, DomainError) else "请选择被巡察单位"
        return await _page(office, request, who, status=400, error=f"未登记：{reason}", values=form)
    return after_post(office.gw, who.login, f"{PREFIX}/indicators",
                      f"已登记：{label}，指标：{form.get('indicator', '').strip()}（{'、'.join(methods)}）")
