"""巡察成果运用 at /office/results (deployments/gateway/office.py routes here): the results letters
in the person's reach (every letter for the office and the leading group; the organisation
department and the discipline commission only those sent to them), and for a receiver its steps:
签收, each use recorded (done, or planned by a date and then done), 办结. The same domain
functions check the role and the letter's receiver again and audit each step (tasks/results/use.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from deployments.gateway.office_forms import PREFIX, after_post, notice_of
from deployments.gateway.web import db
from models.access import Forbidden
from models.clock import now
from models.errors import DomainError
from models.results_use import UseKind
from tasks.results import use

if TYPE_CHECKING:
    from deployments.gateway.office import Office, Who


async def _page(office: Office, request: Request, who: Who, *, status: int = 200, error: str = "",
                values: dict[str, str] | None = None) -> Response:
    t = now()
    letters = await db(lambda s: use.letters_in_reach(session=s, by=who.name, now=t))
    return office.render(request, who, "results.html", status=status, letters=letters,
                         kinds=[k.value for k in UseKind], today=t.date().isoformat(), error=error,
                         values=values or {}, notice="" if error else notice_of(office.gw, who.login, request))


async def view(office: Office, request: Request, who: Who) -> Response:
    return await _page(office, request, who)


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(f"请填写{what}（年-月-日，如 2027-01-15）") from None


async def _step(office: Office, request: Request, who: Who, work: Callable[[Session], str], letter_id: int) -> Response:
    """Do one step; a refusal shows the page again with the reason (and what was typed)."""
    try:
        done = await db(work)
    except Forbidden:
        raise
    except DomainError as exc:
        return await _page(office, request, who, status=400, error=str(exc), values=office.form(request))
    return after_post(office.gw, who.login, f"{PREFIX}/results", done, anchor=f"results-{letter_id}")


async def acknowledge(office: Office, request: Request, who: Who) -> Response:
    letter_id, t = office._int(request.path_params["letter_id"]), now()

    def work(s: Session) -> str:
        letter = use.acknowledge(session=s, settings=office.gw.settings, by=who.name, letter_id=letter_id, now=t)
        return f"已签收{letter.doc_no}，请于{letter.use_due_on}前登记运用情况"
    return await _step(office, request, who, work, letter_id)


async def record(office: Office, request: Request, who: Who) -> Response:
    letter_id, form, t = office._int(request.path_params["letter_id"]), office.form(request), now()
    done = form.get("state", "done") == "done"

    def work(s: Session) -> str:
        day = _day(form.get("day", ""), "运用日期" if done else "完成时限")
        row = use.record_use(session=s, by=who.name, letter_id=letter_id, kind=form.get("kind", ""),
                             note=form.get("note", ""), on=day, done=done, now=t)
        return f"已登记：{UseKind(row.kind).value}（{'已运用' if done else f'计划于{day}前运用'}）"
    return await _step(office, request, who, work, letter_id)


async def complete(office: Office, request: Request, who: Who) -> Response:
    use_id, form, t = office._int(request.path_params["use_id"]), office.form(request), now()
    letter_id = office._int(form.get("letter", "0") or 0)

    def work(s: Session) -> str:
        row = use.complete_use(session=s, by=who.name, use_id=use_id, on=_day(form.get("day", ""), "运用日期"), now=t)
        return f"已完成：{UseKind(row.kind).value}（{row.done_on}）"
    return await _step(office, request, who, work, letter_id)


async def close(office: Office, request: Request, who: Who) -> Response:
    letter_id, t = office._int(request.path_params["letter_id"]), now()

    def work(s: Session) -> str:
        letter = use.close_letter(session=s, by=who.name, letter_id=letter_id, now=t)
        return f"{letter.doc_no}已办结"
    return await _step(office, request, who, work, letter_id)
