"""The office's own pages behind the gateway's login, under /office/ (clear of the Prefect UI's
routes): 我的待办, the receivers' transfer letters and results, petitions and clues for staff.

Confidential work stays here, never in Prefect. Every page checks the logged-in account against
models/access.py; every form POST must come from this site (Origin) and carry the session's
CSRF token (an HMAC of the session, so nothing more is stored). Texts are read through
tasks/clues/ledger.py, which audits each read; nothing confidential is logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from deployments.gateway import accounts, holidays, indicators, rectification, results, undelivered
from deployments.gateway import talks as talk_pages
from deployments.gateway.office_forms import PREFIX, after_post, csrf_ok, csrf_token, notice_of
from deployments.gateway.pages import STYLE
from deployments.gateway.web import (
    FORM_LIMIT,
    OFFICE_REFUSED,
    audit_refused,
    db,
    parse_form,
    same_origin,
)
from models.access import Action, Forbidden, allowed, require, uses_platform
from models.clock import now
from models.db import record_id
from models.enums import AccessRole, ClueKind, ClueResult, ClueStatus, PetitionChannel
from models.errors import DomainError, NotFound
from models.tables import Account, LoginSession
from models.text import first_control
from tasks.clues import ledger, views
from tasks.identity import todo
from tasks.identity.sessions import Stage

if TYPE_CHECKING:
    from deployments.gateway.app import Gateway

TEMPLATES = Path(__file__).resolve().parent / "templates"
# A plan or progress form: up to some hundred items of 2,000 characters (percent-encoded, 9 bytes each).
RECTIFICATION_LIMIT = 4 * 1024 * 1024

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
env.globals["STYLE"] = STYLE


def landing(role: AccessRole, next_url: str) -> str:
    """Where a login without a page of its own to return to goes: a role with no work in the
    Prefect UI (the receiving bodies, a unit's contact) to its to-do page, and so does the leading
    group, whose work is answering the gates listed there (each with its run's link); everyone else
    the UI, whose first page the gateway makes the runs list for all but the office (policy.page_for)."""
    to_todo = not uses_platform(role) or role is AccessRole.LEADING_GROUP
    return f"{PREFIX}/" if next_url == "/" and to_todo else next_url


class Who:
    """The person behind a request to an office page."""

    def __init__(self, account: Account, login: LoginSession, csrf: str) -> None:
        self.account, self.login, self.csrf = account, login, csrf
        self.name, self.role = account.name, AccessRole(account.role)

    def may(self, action: Action) -> bool:
        return allowed(self.role, action)

    @property
    def uses_platform(self) -> bool:
        return uses_platform(self.role)


Handler = Callable[[Request, Who], Awaitable[Response]]


class Office:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    # Plumbing ------------------------------------------------------------------------------

    def render(self, request: Request, who: Who | None, template: str, *, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx = {"error": "", "notice": ""} | ctx
        html = env.get_template(template).render(who=who, Action=Action, prefix=PREFIX, path=request.url.path, **ctx)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    async def listing(self, request: Request, who: Who, template: str, name: str,
                      rows_of: Callable[[Session, datetime], Any]) -> HTMLResponse:
        """A page that lists what `rows_of` reads now, as `name`, under the confirmation of the
        step just done (if this session was shown one)."""
        t = now()
        rows = await db(lambda s: rows_of(s, t))
        return self.render(request, who, template, notice=notice_of(self.gw, who.login, request), **{name: rows})

    def refusal(self, request: Request, who: Who, reason: str, status: int = 403) -> HTMLResponse:
        return self.render(request, who, "refused.html", status=status, reason=reason)

    def page(self, action: Action, handler: Handler, *, post: bool = False,
             limit: int | None = None) -> Callable[[Request], Awaitable[Response]]:
        """A route: an active login, the role allowed `action`, and for a POST the same origin
        and the session's CSRF token; then `handler` with the person. A POST longer than its
        `limit` (bytes; FORM_LIMIT unless the route sets its own) is refused whole, never cut."""
        async def endpoint(request: Request) -> Response:
            if post and not same_origin(request):
                return self.gw_refused("跨站提交被拒绝")
            found = await self.gw.current(request, activity=True)
            if found.account is None or found.login is None or Stage(found.login.stage) is not Stage.ACTIVE:
                if post:
                    return self.gw_refused("请先登录", 401)
                if found.login is not None and found.account is not None:
                    return self.gw._step_page(Stage(found.login.stage), request.url.path)
                return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
            who = Who(found.account, found.login, csrf_token(self.gw, found.login))
            if post:
                body = await request.body()
                if len(body) > (limit or FORM_LIMIT):
                    return self.refusal(request, who, "提交的内容过长，请删减后重新提交或分次报送", 413)
                form = parse_form(body, limit or FORM_LIMIT)
                if not csrf_ok(self.gw, found.login, form.get("csrf", "")):
                    await audit_refused(who.name, request, "表单校验码无效", action=OFFICE_REFUSED, entity="office")
                    return self.refusal(request, who, "表单已失效或来源不明（校验码不符），请回到页面重新提交")
                request.state.form = form
            try:
                require(who.role, action)
            except Forbidden as exc:
                await audit_refused(who.name, request, str(exc), action=OFFICE_REFUSED, entity="office")
                return self.refusal(request, who, str(exc))
            # Every text field of every office form: no control or bidi-override characters (one
            # check here rather than one per field; the domain functions check their own texts too).
            bad = first_control({k: v for k, v in self.form(request).items() if k != "csrf"}) if post else None
            if bad is not None:
                return self.refusal(request, who, f"提交的内容{bad[1]}，请删除后重新提交（未保存）", 400)
            try:
                return await handler(request, who)
            except NotFound as exc:
                return self.refusal(request, who, str(exc), 404)
            except OverflowError:  # a number past 64 bits that reached the database some other way
                return self.refusal(request, who, "没有这个编号", 404)
            except Forbidden as exc:  # the ledger has audited it
                return self.refusal(request, who, str(exc))

        return endpoint

    @staticmethod
    def gw_refused(reason: str, status: int = 403) -> Response:
        from deployments.gateway.web import refused

        return refused(reason, status)

    @staticmethod
    def form(request: Request) -> dict[str, str]:
        form: dict[str, str] = request.state.form
        return form

    @staticmethod
    def _int(value: str | int) -> int:
        return record_id(value)

    # 我的待办 ----------------------------------------------------------------------------------

    async def todo(self, request: Request, who: Who) -> Response:
        return await self.listing(request, who, "todo.html", "todo",
                                  lambda s, t: todo.todo_for(session=s, settings=self.gw.settings, account=who.account, now=t))

    # Receivers ------------------------------------------------------------------------------

    async def letters(self, request: Request, who: Who) -> Response:
        return await self.listing(request, who, "letters.html", "letters",
                                  lambda s, t: views.letters_for(session=s, by=who.name, now=t))

    async def acknowledge(self, request: Request, who: Who) -> Response:
        letter_id, t = self._int(request.path_params["letter_id"]), now()
        try:
            letter = await db(lambda s: ledger.acknowledge_signed_in(session=s, settings=self.gw.settings, by=who.name,
                                                                     letter_id=letter_id, now=t))
        except Forbidden:
            raise
        except DomainError as exc:
            rows = await db(lambda s: views.letters_for(session=s, by=who.name, now=t))
            return self.render(request, who, "letters.html", status=400, letters=rows, error=str(exc), notice="")
        return after_post(self.gw, who.login, f"{PREFIX}/letters", f"已签收{letter.doc_no}，线索{letter.clue_count}件")

    # Clues ----------------------------------------------------------------------------------

    async def clues(self, request: Request, who: Who) -> Response:
        return await self.listing(request, who, "clues.html", "clues",
                                  lambda s, t: views.clues_in_reach(session=s, by=who.name, now=t))

    async def _clue_page(self, request: Request, who: Who, clue_id: int, *, status: int = 200, error: str = "",
                         values: dict[str, str] | None = None) -> Response:
        t = now()

        def work(s: Session) -> tuple[views.ClueLine | None, dict[str, Any] | None]:
            line = views.clue_line(session=s, by=who.name, clue_id=clue_id)
            if line is None:
                # Not in reach: the ledger refuses (and audits) it the same way as any other read.
                ledger.read_clue(session=s, by=who.name, clue_id=clue_id, now=t)
                raise Forbidden("无权查阅该线索")
            text = ledger.read_clue(session=s, by=who.name, clue_id=clue_id, now=t) if line.readable else None
            return line, text

        line, text = await db(work)
        assert line is not None
        may_report = who.may(Action.REPORT_RESULT) and line.status == ClueStatus.RECEIVED.value
        may_transfer = who.may(Action.TRANSFER_URGENT) and line.status in (ClueStatus.PENDING.value, ClueStatus.HELD.value)
        return self.render(request, who, "clue.html", status=status, clue=line, text=text, may_report=may_report,
                           may_transfer=may_transfer,
                           results=[r.value for r in ClueResult], error=error, values=values or {},
                           notice="" if error else notice_of(self.gw, who.login, request))

    async def clue(self, request: Request, who: Who) -> Response:
        return await self._clue_page(request, who, self._int(request.path_params["clue_id"]))

    async def clue_result(self, request: Request, who: Who) -> Response:
        clue_id, form, t = self._int(request.path_params["clue_id"]), self.form(request), now()
        try:
            clue = await db(lambda s: ledger.report_result(session=s, settings=self.gw.settings, by=who.name,
                                                           clue_id=clue_id, result=form.get("result", ""),
                                                           note=form.get("note", ""), now=t))
        except Forbidden:
            raise
        except DomainError as exc:
            return await self._clue_page(request, who, clue_id, status=400, error=str(exc), values=form)
        done = f"已反馈办理结果：{ClueResult(clue.result).value if clue.result else ''}"
        return after_post(self.gw, who.login, f"{PREFIX}/clues/{clue_id}", done)

    async def clue_transfer(self, request: Request, who: Who) -> Response:
        """边巡边移 from the clue's page: the same domain function as `xuncha transfer-now`."""
        clue_id, t = self._int(request.path_params["clue_id"]), now()
        try:
            letter = await db(lambda s: ledger.transfer_urgent(session=s, settings=self.gw.settings, by=who.name,
                                                               clue_id=clue_id, now=t, link=self.gw.settings.ui_url))
        except Forbidden:
            raise
        except DomainError as exc:
            return await self._clue_page(request, who, clue_id, status=400, error=str(exc))
        return after_post(self.gw, who.login, f"{PREFIX}/clues/{clue_id}",
                          f"已边巡边移（{letter.doc_no}），已通知接收单位签收")

    async def _clue_form(self, request: Request, who: Who, *, status: int = 200, error: str = "",
                         values: dict[str, str] | None = None) -> Response:
        choices = await db(lambda s: views.receiving_inspections(session=s, by=who.name, action=Action.ADD_CLUE))
        return self.render(request, who, "clue_new.html", status=status, choices=choices, kinds=[k.value for k in ClueKind],
                           error=error, values=values or {})

    async def clue_new(self, request: Request, who: Who) -> Response:
        return await self._clue_form(request, who)

    async def clue_create(self, request: Request, who: Who) -> Response:
        form, t = self.form(request), now()
        try:
            inspection_id = int(form.get("inspection", "") or 0)
            clue = await db(lambda s: ledger.register_clue(session=s, by=who.name, inspection_id=inspection_id,
                                                           kind=form.get("kind", ""), summary=form.get("summary", ""),
                                                           urgent=form.get("urgent") == "1", now=t))
        except ValueError:
            return await self._clue_form(request, who, status=400, error="请选择被巡察单位", values=form)
        except DomainError as exc:
            return await self._clue_form(request, who, status=400 if not isinstance(exc, Forbidden) else 403,
                                         error=str(exc), values=form)
        return after_post(self.gw, who.login, f"{PREFIX}/clues", f"已登记线索，编号{clue.id}")

    # Petitions ------------------------------------------------------------------------------

    async def petitions(self, request: Request, who: Who) -> Response:
        return await self.listing(request, who, "petitions.html", "petitions",
                                  lambda s, t: views.petitions_in_reach(session=s, by=who.name, now=t))

    async def petition(self, request: Request, who: Who) -> Response:
        petition_id, t = self._int(request.path_params["petition_id"]), now()
        informant = request.query_params.get("informant") == "1"
        row = await db(lambda s: ledger.read_petition(session=s, settings=self.gw.settings, by=who.name,
                                                      petition_id=petition_id, informant=informant, now=t))
        return self.render(request, who, "petition.html", row=row, informant=informant,
                           may_informant=who.may(Action.READ_INFORMANT), kinds=[k.value for k in ClueKind],
                           may_to_clue=who.may(Action.ADD_CLUE) and not row["转为线索"], values={}, error="",
                           notice=notice_of(self.gw, who.login, request))

    async def petition_clue(self, request: Request, who: Who) -> Response:
        """A petition that holds a problem becomes a clue (its own summary; the informant stays behind)."""
        petition_id, form, t = self._int(request.path_params["petition_id"]), self.form(request), now()
        try:
            clue = await db(lambda s: ledger.petition_to_clue(
                session=s, settings=self.gw.settings, by=who.name, petition_id=petition_id, kind=form.get("kind", ""),
                summary=form.get("summary", ""), urgent=form.get("urgent") == "1", now=t))
        except Forbidden:
            raise
        except DomainError as exc:
            row = await db(lambda s: ledger.read_petition(session=s, settings=self.gw.settings, by=who.name,
                                                          petition_id=petition_id, informant=False, now=t))
            return self.render(request, who, "petition.html", status=400, row=row, informant=False,
                               may_informant=who.may(Action.READ_INFORMANT), kinds=[k.value for k in ClueKind],
                               may_to_clue=True, values=form, error=str(exc), notice="")
        return after_post(self.gw, who.login, f"{PREFIX}/clues/{clue.id}", f"已由信访举报{petition_id}转为线索，编号{clue.id}")

    async def _petition_form(self, request: Request, who: Who, *, status: int = 200, error: str = "",
                             values: dict[str, str] | None = None) -> Response:
        choices = await db(lambda s: views.receiving_inspections(session=s, by=who.name, action=Action.ADD_PETITION))
        return self.render(request, who, "petition_new.html", status=status, choices=choices,
                           channels=[c.value for c in PetitionChannel], error=error, values=values or {})

    async def petition_new(self, request: Request, who: Who) -> Response:
        return await self._petition_form(request, who)

    async def petition_create(self, request: Request, who: Who) -> Response:
        form, t = self.form(request), now()
        anonymous = form.get("anonymous") == "1"
        name, contact = form.get("informant", "").strip(), form.get("contact", "").strip()
        error = ""
        if anonymous and (name or contact):
            error = "已选择匿名举报，请不要填写举报人和联系方式"
        elif not anonymous and not (name or contact):
            error = "实名举报请填写举报人姓名或联系方式；不愿留名的请选择匿名"
        if not error:
            try:
                inspection_id = int(form.get("inspection", "") or 0)
                p = await db(lambda s: ledger.add_petition(
                    session=s, settings=self.gw.settings, by=who.name, inspection_id=inspection_id,
                    channel=form.get("channel", ""), content=form.get("content", ""), informant_name=name,
                    informant_contact=contact, now=t))
            except ValueError:
                error = "请选择被巡察单位"
            except DomainError as exc:
                error = str(exc)
            else:
                done = f"已受理信访举报，编号{p.id}" + ("（匿名）" if p.anonymous else "（举报人身份已加密保存）")
                return after_post(self.gw, who.login, f"{PREFIX}/petitions", done)
        # The form comes back with what was typed, except who the informant is.
        kept = {k: v for k, v in form.items() if k not in ("informant", "contact", "csrf")}
        return await self._petition_form(request, who, status=400, error=error, values=kept)

    # Routes -----------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        p, A = PREFIX, Action

        def get(path: str, action: Action, handler: Handler) -> Route:
            return Route(p + path, self.page(action, handler), methods=["GET"])

        def post(path: str, action: Action, handler: Handler, limit: int | None = None) -> Route:
            return Route(p + path, self.page(action, handler, post=True, limit=limit), methods=["POST"])

        return [
            Route(p, lambda r: RedirectResponse(f"{p}/", status_code=307), methods=["GET"]),
            get("/", A.VIEW_TODO, self.todo),
            get("/todo", A.VIEW_TODO, self.todo),
            get("/letters", A.ACKNOWLEDGE, self.letters),
            post("/letters/{letter_id:int}/acknowledge", A.ACKNOWLEDGE, self.acknowledge),
            get("/clues", A.BROWSE_CLUES, self.clues),
            get("/clues/new", A.ADD_CLUE, self.clue_new),
            post("/clues/new", A.ADD_CLUE, self.clue_create),
            # A clue's page: its reader, or the body it was routed to (checked by the ledger).
            get("/clues/{clue_id:int}", A.VIEW_TODO, self.clue),
            post("/clues/{clue_id:int}/result", A.REPORT_RESULT, self.clue_result),
            get("/petitions", A.READ_PETITION, self.petitions),
            get("/petitions/new", A.ADD_PETITION, self.petition_new),
            post("/petitions/new", A.ADD_PETITION, self.petition_create),
            get("/petitions/{petition_id:int}", A.READ_PETITION, self.petition),
            post("/petitions/{petition_id:int}/clue", A.ADD_CLUE, self.petition_clue),
            post("/clues/{clue_id:int}/transfer", A.TRANSFER_URGENT, self.clue_transfer),
            # 整改事项 by units (deployments/gateway/rectification.py): the reach is checked there.
            get("/rectification", A.VIEW_RECTIFICATION, partial(rectification.view, self)),
            post("/rectification/{inspection_id:int}/plan", A.REPORT_RECTIFICATION,
                 partial(rectification.submit_plan, self), limit=RECTIFICATION_LIMIT),
            post("/rectification/{inspection_id:int}/progress", A.REPORT_RECTIFICATION,
                 partial(rectification.report_progress, self), limit=RECTIFICATION_LIMIT),
            # The working-day calendar (deployments/gateway/holidays.py): the office only.
            get("/holidays", A.MANAGE_HOLIDAYS, partial(holidays.view, self)),
            post("/holidays", A.MANAGE_HOLIDAYS, partial(holidays.enter, self)),
            # Alerts that did not arrive (deployments/gateway/undelivered.py): the office only.
            get("/alerts", A.HANDLE_UNDELIVERED, partial(undelivered.view, self)),
            post("/alerts/{alert_id:int}/resend", A.HANDLE_UNDELIVERED, partial(undelivered.resend, self)),
            post("/alerts/{alert_id:int}/handled", A.HANDLE_UNDELIVERED, partial(undelivered.handled, self)),
            # 巡察指标 (deployments/gateway/indicators.py): the reach is checked there.
            get("/indicators", A.VIEW_INDICATOR_COVERAGE, partial(indicators.view, self)),
            post("/indicators/examine", A.RECORD_EXAMINATION, partial(indicators.examine, self)),
            # 个别谈话 (deployments/gateway/talks.py): the unit's team and the office; reach checked there.
            get("/talks", A.READ_TALKS, partial(talk_pages.view, self)),
            post("/talks/plan", A.RECORD_TALKS, partial(talk_pages.plan, self)),
            post("/talks/record", A.RECORD_TALKS, partial(talk_pages.record, self)),
            get("/talks/{record_id:int}", A.READ_TALKS, partial(talk_pages.show, self)),
            # 巡察成果运用 (deployments/gateway/results.py): a receiving body only its own letters, checked there.
            get("/results", A.VIEW_RESULTS_USE, partial(results.view, self)),
            post("/results/{letter_id:int}/acknowledge", A.ACKNOWLEDGE_RESULTS, partial(results.acknowledge, self)),
            post("/results/{letter_id:int}/use", A.RECORD_RESULTS_USE, partial(results.record, self)),
            post("/results/uses/{use_id:int}/done", A.RECORD_RESULTS_USE, partial(results.complete, self)),
            post("/results/{letter_id:int}/close", A.RECORD_RESULTS_USE, partial(results.close, self)),
            # 用户管理 (deployments/gateway/accounts.py): the office only.
            get("/accounts", A.MANAGE_ACCOUNTS, partial(accounts.view, self)),
            post("/accounts/password", A.MANAGE_ACCOUNTS, partial(accounts.reset_password, self)),
            post("/accounts/second-factor", A.MANAGE_ACCOUNTS, partial(accounts.reset_second_factor, self)),
            post("/accounts/active", A.MANAGE_ACCOUNTS, partial(accounts.set_active, self)),
            # Anything else under the prefix is not the Prefect UI's either: not found here.
            Route(p + "/{rest:path}", self.page(A.VIEW_TODO, self.missing),
                  methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]),
        ]

    async def missing(self, request: Request, who: Who) -> Response:
        return self.refusal(request, who, "没有这个页面", 404)
