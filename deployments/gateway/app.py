"""The gateway as an ASGI app (Starlette, which Prefect's FastAPI already brings).

Everything but the login pages needs an active session. Requests are forwarded to the Prefect
server with fastapi-proxy-lib (HTTP and websockets); before a call that changes something is
forwarded, the logged-in person's role is checked (policy.py, models/access.py) and a refusal
answers 403 with the reason in Chinese. A gate answer gets a receipt first (tasks/identity/
receipts.py), so the flow records the logged-in person as the approver.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import httpx
from fastapi_proxy_lib.core.http import ReverseHttpProxy
from fastapi_proxy_lib.core.websocket import ReverseWebSocketProxy
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from deployments.gateway import hardening, pages
from deployments.gateway.policy import (
    NO_PLATFORM,
    OFFICE_HOME,
    Call,
    Kind,
    classify,
    page_for,
    quiet_read,
    socket_allowed,
    socket_reader,
)
from deployments.gateway.reads import Reads
from deployments.gateway.web import (
    FormTooLong,
    audit_refused,
    db,
    parse_form,
    refused,
    same_origin,
)
from models.access import Action, Forbidden, require, uses_platform
from models.clock import now
from models.enums import AccessRole, Gate
from models.errors import DomainError
from models.settings import Settings, get_settings
from models.tables import Account, LoginSession
from models.text import first_control
from tasks.identity import credentials, door, phone, receipts, sessions, throttle
from tasks.identity.sessions import Ended, Stage
from tasks.identity.throttle import Kind as Throttle
from tasks.infra.audit import record_event
from tasks.ops import run_names, start_checks
from tasks.stationing import indicators

log = logging.getLogger("xuncha.gateway")
COOKIE = "xuncha_session"
HERE = Path(__file__).resolve().parent
# Prefect's per-browser choice of UI (prefect/server/api/server.py UI_VERSION_COOKIE_NAME): never
# passed on, so the classic UI is served whatever the browser says.
UI_COOKIE = "prefect_ui_version"
CONSOLE_ZH = "/gateway/console-zh.js"
CONSOLE_ZH_DICT = "/gateway/console-zh.json"
NO_KEY_YET = "请先用身份验证器应用扫描上面的二维码（或输入密钥）添加账户，再输入应用中显示的六位数字"
STALE_FORM = "页面已过期或来源不明，请重新输入后提交"
# Why the login page is shown (?reason=…): a session that ended, said in the person's words.
REASON_KEYS = {Ended.IDLE: "idle", Ended.EXPIRED: "expired", Ended.LOGGED_OUT: "logout", Ended.CHANGED: "changed"}
REASONS = {key: ended.value for ended, key in REASON_KEYS.items()}


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


async def _too_long(request: Request, exc: Exception) -> Response:
    return refused("提交的内容过长，请删减后重新提交", 413)


def _is_navigation(request: Request) -> bool:
    return request.method == "GET" and ("text/html" in request.headers.get("accept", "")
                                         or request.headers.get("sec-fetch-mode") == "navigate")


@dataclass(frozen=True)
class Midway:
    """A login part-way through (second factor, new password): its row and account, and the form
    it posted if any."""
    login: LoginSession
    account: Account
    form: dict[str, str] = field(default_factory=dict)

    @property
    def stage(self) -> Stage:
        return Stage(self.login.stage)


class Gateway:
    def __init__(self, *, upstream: str, settings: Settings | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.settings = settings or get_settings()
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
        self.http = ReverseHttpProxy(self.client, base_url=self.upstream + "/")
        ws_base = "ws" + self.upstream.removeprefix("http") + "/"
        self.ws = ReverseWebSocketProxy(httpx.AsyncClient(timeout=None), base_url=ws_base)
        # The scale-out set-up protects the Prefect server with its basic-auth string as well.
        auth = os.environ.get("PREFECT_API_AUTH_STRING")
        self.auth_header = (b"authorization", b"Basic " + base64.b64encode(auth.encode())) if auth else None
        self.reads = Reads(self)

    # Sessions ------------------------------------------------------------------------------

    async def current(self, request: Request | WebSocket, *, activity: bool = False) -> sessions.Found:
        token = request.cookies.get(COOKIE)
        t = now()

        def work(s: Session) -> sessions.Found:
            found = sessions.find(session=s, settings=self.settings, token=token, now=t)
            if activity and found.login is not None and found.account is not None:
                sessions.touch(session=s, login=found.login, now=t)
            s.flush()  # the activity (or the end of an idle session) is written before the rows leave the session
            if found.account is not None:
                s.expunge(found.account)
            if found.login is not None:
                s.expunge(found.login)
            return found

        return await db(work)

    def _cookie(self, response: Response, request: Request, token: str) -> None:
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/",
                            secure=request.url.scheme == "https")

    def _step_page(self, stage: Stage, next_url: str = "/") -> RedirectResponse:
        target = {Stage.TOTP: "/login/totp", Stage.ENROL: "/login/totp", Stage.CHANGE: "/password"}.get(stage)
        return RedirectResponse(target or _safe_next(next_url), status_code=303)

    # Pages -----------------------------------------------------------------------------------

    async def login_get(self, request: Request) -> Response:
        reason = REASONS.get(request.query_params.get("reason", ""), "")
        return self._login_page(request, notice=reason, next_url=_safe_next(request.query_params.get("next")))

    def _login_page(self, request: Request, *, status: int = 200, **shown: str) -> HTMLResponse:
        """The login form with its CSRF token, bound to the browser's login cookie (hardening.py)."""
        cookie = hardening.login_cookie(request)
        response = HTMLResponse(pages.login_page(csrf=hardening.login_token(self.settings, cookie), **shown),
                                status_code=status, headers={"Cache-Control": "no-store"})
        hardening.keep_login_cookie(response, request, cookie)
        return response

    def _login_keys(self, request: Request, name: str) -> list[tuple[str, str]]:
        """What a login attempt is counted under: the client's address and the name typed."""
        source = hardening.client_address(request)
        return [(Throttle.LOGIN_SOURCE, throttle.key(self.settings, Throttle.LOGIN_SOURCE, source)),
                (Throttle.LOGIN_NAME, throttle.key(self.settings, Throttle.LOGIN_NAME, name))]

    async def _attempt(self, keys: list[tuple[str, str]]) -> throttle.Attempt:
        """Throttled while a wait runs; else the attempt written down as a failure until it passes."""
        t = now()
        return await db(lambda s: throttle.attempt(session=s, settings=self.settings, keys=keys, now=t))

    async def login_post(self, request: Request) -> Response:
        if not same_origin(request):
            return refused("跨站提交被拒绝")
        form = parse_form(await request.body())
        name, password, next_url = form.get("name", "").strip(), form.get("password", ""), _safe_next(form.get("next"))
        if not hardening.login_token_ok(self.settings, request, form.get("csrf", "")):
            return self._login_page(request, status=403, error=STALE_FORM, next_url=next_url, name=name)
        keys = self._login_keys(request, name)
        try:
            tried = await self._attempt(keys)
        except throttle.Throttled as exc:
            return self._login_page(request, status=429, error=str(exc), next_url=next_url, name=name)
        t = now()

        def work(s: Session) -> tuple[str, Stage, AccessRole]:
            account = credentials.check_password(session=s, settings=self.settings, name=name, password=password, now=t)
            token, row = sessions.start(session=s, settings=self.settings, account=account, now=t)
            done = Stage(row.stage) is not Stage.TOTP and Stage(row.stage) is not Stage.ENROL
            # The name's earlier failures are forgiven only once every factor is proved.
            throttle.succeeded(session=s, done=tried, clear=keys[1:] if done else ())
            if Stage(row.stage) is Stage.ACTIVE:
                sessions.record_login(session=s, account=account, action="登录", now=t)
            return token, Stage(row.stage), AccessRole(account.role)

        try:
            token, stage, role = await db(work)
        except credentials.LoginRefused as exc:
            return self._login_page(request, status=401, error=str(exc), next_url=next_url, name=name)
        from deployments.gateway.office import landing

        next_url = landing(role, next_url)
        response = self._step_page(stage, next_url)
        self._cookie(response, request, token)
        response.set_cookie("xuncha_next", quote(next_url), httponly=True, samesite="lax", path="/")
        return response

    async def _partial_form(self, request: Request, *stages: Stage) -> Midway | Response:
        """A form posted in the middle of logging in (second factor, new password): same origin,
        a login at one of `stages`, and the form's fields; else the response that ends it."""
        if not same_origin(request):
            return refused("跨站提交被拒绝")
        found = await self._partial(request, *stages)
        if isinstance(found, Response):
            return found
        form = parse_form(await request.body())
        if not hardening.session_token_ok(self.settings, found.login, form.get("csrf", "")):
            return HTMLResponse(pages.stale_page(STALE_FORM, request.url.path), status_code=403)
        return Midway(found.login, found.account, form)

    async def _partial(self, request: Request, *stages: Stage) -> Midway | Response:
        """A login at one of `stages`; else the page of the step it is at (or the login page)."""
        found = await self.current(request)
        if found.login is None or found.account is None:
            return RedirectResponse("/login", status_code=303)
        if Stage(found.login.stage) not in stages:
            return self._step_page(Stage(found.login.stage), self._next(request))
        return Midway(found.login, found.account)

    @staticmethod
    def _next(request: Request) -> str:
        from urllib.parse import unquote

        return _safe_next(unquote(request.cookies.get("xuncha_next", "/")))

    async def totp_get(self, request: Request) -> Response:
        found = await self._partial(request, Stage.TOTP, Stage.ENROL)
        if isinstance(found, Response):
            return found
        if found.stage is Stage.TOTP:
            return HTMLResponse(pages.totp_page(name=found.account.name, csrf=self._csrf(found)))
        return await self._enrol_page(found)

    def _csrf(self, found: Midway) -> str:
        return hardening.session_token(self.settings, found.login)

    async def _enrol_page(self, found: Midway, error: str = "") -> Response:
        """The key to bind: the one this login was shown (a reload or a typo keeps it, until the
        half-done login expires or the key is bound), or a new one."""
        login_id, account = found.login.id, found.account

        def work(s: Session) -> str:
            row = s.get(LoginSession, login_id)
            assert row is not None
            if row.pending_secret_enc:
                try:
                    return credentials.open_secret(self.settings, row.pending_secret_enc)
                except DomainError:  # the identity key changed since: a new one
                    pass
            secret = credentials.new_totp_secret()
            row.pending_secret_enc = credentials.seal_secret(self.settings, secret)
            s.add(row)
            return secret

        secret = await db(work)
        return HTMLResponse(pages.totp_page(name=account.name, secret=secret, error=error, csrf=self._csrf(found),
                                            uri=credentials.provisioning_uri(account, secret)),
                            status_code=401 if error else 200, headers={"Cache-Control": "no-store"})

    async def totp_post(self, request: Request) -> Response:
        posted = await self._partial_form(request, Stage.TOTP, Stage.ENROL)
        if isinstance(posted, Response):
            return posted
        found = posted
        code = found.form.get("code", "")
        keys = self._login_keys(request, found.account.name)
        try:
            tried = await self._attempt(keys)
        except throttle.Throttled as exc:
            return HTMLResponse(pages.totp_page(name=found.account.name, error=str(exc), csrf=self._csrf(found)),
                                status_code=429)
        login_id, account_id, t = found.login.id, found.account.id, now()

        def work(s: Session) -> tuple[Stage, str]:
            row, account = s.get(LoginSession, login_id), s.get(Account, account_id)
            assert row is not None and account is not None
            pending = None
            if Stage(row.stage) is Stage.ENROL:
                if not row.pending_secret_enc:
                    raise credentials.LoginRefused(NO_KEY_YET)
                pending = credentials.open_secret(self.settings, row.pending_secret_enc)
            credentials.check_totp(session=s, settings=self.settings, account=account, code=code, now=t, secret=pending)
            throttle.succeeded(session=s, done=tried, clear=keys[1:])
            stage = sessions.advance(session=s, login=row, account=account, now=t)
            token = sessions.renew(session=s, settings=self.settings, login=row)  # a new token once the second factor is proved
            if stage is Stage.ACTIVE:
                sessions.record_login(session=s, account=account, action="登录", now=t)
            return stage, token

        try:
            stage, token = await db(work)
        except credentials.LoginRefused as exc:
            if str(exc).startswith("账户已锁定"):  # back to the start: the login is over
                return HTMLResponse(pages.login_page(error=str(exc)), status_code=401)
            if found.stage is Stage.ENROL:  # the same key again: the one already added to the phone stays good
                return await self._enrol_page(found, str(exc) if str(exc) == NO_KEY_YET else
                                              f"{exc}。密钥没有变，不必重新添加：请等应用中出现新的六位数字后重新输入"
                                              "（如一直不对，请核对手机时间是否准确，或对照上面的密钥）")
            return HTMLResponse(pages.totp_page(name=found.account.name, error=str(exc), csrf=self._csrf(found)),
                                status_code=401)
        response = self._step_page(stage, self._next(request))
        self._cookie(response, request, token)
        return response

    async def password_get(self, request: Request) -> Response:
        found = await self._partial(request, Stage.CHANGE, Stage.ACTIVE)
        if isinstance(found, Response):
            return found
        return HTMLResponse(pages.password_page(name=found.account.name, forced=found.stage is Stage.CHANGE,
                                                csrf=self._csrf(found)))

    async def password_post(self, request: Request) -> Response:
        posted = await self._partial_form(request, Stage.CHANGE, Stage.ACTIVE)
        if isinstance(posted, Response):
            return posted
        found, form = posted, posted.form
        forced = found.stage is Stage.CHANGE
        keys = self._login_keys(request, found.account.name)  # the old password is guessed no faster than at login
        try:
            tried = await self._attempt(keys)
        except throttle.Throttled as exc:
            return HTMLResponse(pages.password_page(name=found.account.name, forced=forced, error=str(exc),
                                                    csrf=self._csrf(found)), status_code=429)
        login_id, account_id, t = found.login.id, found.account.id, now()

        def work(s: Session) -> tuple[Stage, str]:
            row, account = s.get(LoginSession, login_id), s.get(Account, account_id)
            assert row is not None and account is not None
            try:
                credentials.change_password(session=s, account=account, old=form.get("old", ""),
                                            new=form.get("new", ""), repeat=form.get("repeat", ""), now=t)
            except credentials.LoginRefused as exc:
                if str(exc) != credentials.WRONG_OLD:  # the old password was right: no failure
                    throttle.succeeded(session=s, done=tried)
                raise
            throttle.succeeded(session=s, done=tried)
            stage = sessions.advance(session=s, login=row, account=account, now=t)
            # A new token for this browser; any other browser logged in with the old password is out.
            token = sessions.renew(session=s, settings=self.settings, login=row)
            sessions.end_others(session=s, login=row, now=t)
            if forced and stage is Stage.ACTIVE:
                sessions.record_login(session=s, account=account, action="登录", now=t)
            return stage, token

        try:
            stage, token = await db(work)
        except credentials.LoginRefused as exc:
            return HTMLResponse(pages.password_page(name=found.account.name, forced=forced, error=str(exc),
                                                    csrf=self._csrf(found)), status_code=400)
        response = self._step_page(stage, self._next(request) if forced else "/")
        self._cookie(response, request, token)
        return response

    async def logout(self, request: Request) -> Response:
        if not same_origin(request):
            return refused("跨站提交被拒绝")
        found = await self.current(request)
        if found.login is not None and found.login.ended_at is None:
            login_id, t = found.login.id, now()
            name = found.account.name if found.account else ""

            def work(s: Session) -> None:
                row = s.get(LoginSession, login_id)
                assert row is not None
                sessions.end(session=s, login=row, now=t)
                if name:
                    record_event(session=s, actor=name, action="退出登录", entity="account", entity_id=row.account_id, now=t)

            await db(work)
        response = RedirectResponse("/login?reason=logout", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def me(self, request: Request) -> Response:
        found = await self.current(request)
        if found.account is None or found.login is None or Stage(found.login.stage) is not Stage.ACTIVE:
            return self._unauthenticated(found)
        return JSONResponse({"name": found.account.name, "role": AccessRole(found.account.role).value})

    async def activity(self, request: Request) -> Response:
        if not same_origin(request):
            return refused("跨站请求被拒绝")
        found = await self.current(request, activity=True)
        if found.account is None:
            return self._unauthenticated(found)
        return Response(status_code=204)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def script(self, request: Request) -> Response:
        return FileResponse(HERE / "session.js", media_type="application/javascript")

    async def console_zh(self, request: Request) -> Response:
        """The Chinese console (console-zh.js and its dictionary console-zh.json, docs/console.md):
        for a logged-in person, like the UI pages that load it."""
        found = await self.current(request)
        if found.account is None or found.login is None or Stage(found.login.stage) is not Stage.ACTIVE:
            return self._unauthenticated(found)
        name = request.url.path.removeprefix("/gateway/")
        media = "application/json" if name.endswith(".json") else "application/javascript"
        return FileResponse(HERE / name, media_type=media, headers={"Cache-Control": "no-cache"})

    async def nav_script(self, request: Request) -> Response:
        return FileResponse(HERE / "nav.js", media_type="application/javascript")

    @staticmethod
    def _unauthenticated(found: sessions.Found) -> JSONResponse:
        ended = found.ended if found.ended is not Ended.NONE else Ended.UNKNOWN
        key = REASON_KEYS.get(ended, "")
        return JSONResponse({"detail": ended.value, "reason": key}, status_code=401)

    # A leader's answer from a phone --------------------------------------------------------

    async def phone_get(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        info = await db(lambda s: phone.describe(session=s, settings=self.settings, flow_run_id=run_id))
        # The gate's name only: what is decided, and for what, shows after a valid code.
        return HTMLResponse(pages.phone_page(gate=info.gate, options=info.options, notice=info.notice),
                            headers={"Cache-Control": "no-store"})

    async def phone_post(self, request: Request) -> Response:
        if not same_origin(request):
            return refused("跨站提交被拒绝")
        run_id = request.path_params["run_id"]
        form = parse_form(await request.body())
        values = {k: form.get(k, "") for k in ("approver", "decision", "comment")}
        info = await db(lambda s: phone.describe(session=s, settings=self.settings, flow_run_id=run_id))
        if not info.options:
            return HTMLResponse(pages.phone_page(gate=info.gate, options=[], notice=info.notice))
        keys = [(Throttle.PHONE_SOURCE, throttle.key(self.settings, Throttle.PHONE_SOURCE, hardening.client_address(request))),
                (Throttle.PHONE_GATE, throttle.key(self.settings, Throttle.PHONE_GATE, str(run_id)))]
        try:
            tried = await self._attempt(keys)
        except throttle.Throttled as exc:
            return HTMLResponse(pages.phone_page(gate=info.gate, options=info.options, error=str(exc), values=values),
                                status_code=429, headers={"Cache-Control": "no-store"})
        t = now()
        deciding = "decision" in form

        def work(s: Session) -> dict[str, Any]:
            if deciding:
                try:
                    run_input = phone.check(session=s, settings=self.settings, flow_run_id=run_id, form=form, now=t)
                except phone.BadDecision:
                    throttle.succeeded(session=s, done=tried)  # name and code were right
                    raise
            else:
                run_input = {"approver": phone.verify(session=s, settings=self.settings, flow_run_id=run_id,
                                                      form=form, now=t)}
            throttle.succeeded(session=s, done=tried)
            return run_input

        def matter(approver: str, error: str = "", status: int = 200) -> HTMLResponse:
            """After a valid code: what is decided, and the decision form."""
            return HTMLResponse(pages.phone_page(gate=info.gate, subject=info.subject, options=info.options,
                                                 summary=info.summary, approver=approver, values=form, error=error),
                                status_code=status, headers={"Cache-Control": "no-store"})

        try:
            run_input = await db(work)
        except phone.BadDecision as exc:
            return matter(exc.approver, str(exc), 400)
        except Forbidden as exc:
            return HTMLResponse(pages.phone_page(gate=info.gate, options=info.options, error=str(exc), values=values),
                                status_code=403, headers={"Cache-Control": "no-store"})
        if not deciding:
            return matter(run_input["approver"])
        status = ""
        for _ in range(20):  # the form's schema is stored a moment after the run pauses
            try:
                r = await self.client.post(f"{self.upstream}/api/flow_runs/{run_id}/resume",
                                           json={"run_input": run_input}, headers=self._auth())
            except httpx.HTTPError:
                log.exception("resume from the phone page failed")
                break
            status = str(r.json().get("status", "")) if r.status_code in (200, 201) else str(r.status_code)
            if status != "REJECT":
                break
            await anyio.sleep(0.5)
        if status != "ACCEPT":
            return matter(run_input["approver"], "流程暂时不能接收办理结果，请稍后再试", 503)
        return HTMLResponse(pages.phone_page(gate=info.gate, subject=info.subject, options=info.options, done=True,
                                             notice=f"已提交：{run_input['decision']}。流程核对后生效，结果以提醒和流程页面为准。"))

    # The door --------------------------------------------------------------------------------

    async def forward(self, request: Request) -> Response:
        path = request.url.path
        if _v2(path):  # the classic UI only (docs/console.md)
            return self._classic(request)
        navigation = _is_navigation(request)
        found = await self.current(request, activity=navigation)
        if found.account is None or found.login is None or Stage(found.login.stage) is not Stage.ACTIVE:
            if path.startswith("/api/") or path == "/api" or not navigation:
                return self._unauthenticated(found)
            if found.login is not None and found.account is not None:  # a login half done
                return self._step_page(Stage(found.login.stage), path)
            # Not "logged out" here: that one was done by the person, in this browser, who knows.
            key = REASON_KEYS.get(found.ended, "") if found.ended is not Ended.LOGGED_OUT else ""
            target = "/login?" + (f"reason={key}&" if key else "") + "next=" + quote(_safe_next(
                path + (f"?{request.url.query}" if request.url.query else "")))
            return RedirectResponse(target, status_code=303)
        account = found.account
        body: bytes | None = None
        receipt_id: int | None = None
        audit: tuple[str, dict[str, Any]] | None = None
        if navigation and not path.startswith("/api") and (other := page_for(AccessRole(account.role), path)):
            if uses_platform(AccessRole(account.role)):  # the engineering pages are the office's
                return RedirectResponse(other, status_code=302)
        if not uses_platform(AccessRole(account.role)):  # all their work is on the office pages
            if navigation and not path.startswith("/api"):
                return RedirectResponse(OFFICE_HOME, status_code=302)
            if path.startswith("/api"):
                reason = NO_PLATFORM.format(role=account.role)
                if request.method not in ("GET", "HEAD", "OPTIONS"):  # writes refused are audited, as below
                    await audit_refused(account.name, request, reason, action="界面操作（被拒绝）", entity="prefect")
                return refused(reason)
        quiet, empty = quiet_read(AccessRole(account.role), request.method, path.removeprefix("/api"))
        if quiet:
            return JSONResponse(empty)
        if request.method in ("GET", "HEAD", "OPTIONS") and path.startswith("/api/"):
            try:  # a read by id: checked against what it reads (policy.READ_ROUTES, reads.py)
                await self.reads.check(request, account, path.removeprefix("/api"), b"")
            except Forbidden as exc:
                return refused(str(exc))
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            if not same_origin(request):
                return refused("跨站请求被拒绝")
            if path.startswith("/api/"):
                call = classify(request.method, path.removeprefix("/api"))
                body = await request.body()
                try:
                    if call.kind is Kind.READ:
                        body = await self.reads.check(request, account, path.removeprefix("/api"), body)
                    body, receipt_id, audit = await self.check(request, account, call, body, found.login)
                except Forbidden as exc:
                    if call.kind is not Kind.READ:  # refused reads are not audited (the UI polls them)
                        await audit_refused(account.name, request, str(exc), action="界面操作（被拒绝）", entity="prefect")
                    return refused(str(exc))
                except DomainError as exc:
                    return refused(str(exc), status=400)
                # The person's own act keeps the session alive; the UI's polling (reads by POST) does not.
                # A gate answer recorded the activity with its receipt.
                if receipt_id is None and call.kind is not Kind.READ:
                    await self._touch(found.login)
            else:
                return refused("不支持的请求", status=405)
        elif path.endswith("/ui-settings"):
            return await self.ui_settings(request)
        elif navigation and not path.startswith("/api"):
            return await self.page_with_script(request)
        # The answer to a call the gateway reads afterwards (receipt, audit) comes uncompressed.
        plain = receipt_id is not None or audit is not None
        response = await self.http.proxy(request=self._upstream_request(request, body, plain=plain), path=path.lstrip("/"))
        if receipt_id is not None or audit is not None:
            response = await self._after(response, account, receipt_id, audit)
        return response

    def _upstream_request(self, request: Request, body: bytes | None, *, plain: bool = False) -> Request:
        """The request as Prefect sees it: without the gateway's cookie, with the server's
        auth string when one is set, with the (possibly rewritten) body."""
        dropped = (b"cookie", b"authorization", b"content-length") + ((b"accept-encoding",) if plain else ())
        headers = [(k, v) for k, v in request.scope["headers"] if k not in dropped]
        cookies = [c.strip() for c in request.headers.get("cookie", "").split(";")
                   if c.strip() and not c.strip().startswith(("xuncha_session=", "xuncha_next=", hardening.LOGIN_COOKIE + "=", UI_COOKIE + "="))]
        if cookies:
            headers.append((b"cookie", "; ".join(cookies).encode("latin-1")))
        if self.auth_header:
            headers.append(self.auth_header)
        if plain:  # httpx would otherwise ask for gzip by itself
            headers.append((b"accept-encoding", b"identity"))
        if body is not None:
            headers.append((b"content-length", str(len(body)).encode()))
        elif "content-length" in request.headers:
            headers.append((b"content-length", request.headers["content-length"].encode()))
        scope = dict(request.scope)
        scope["headers"] = headers
        upstream = Request(scope, request.receive)
        if body is not None:
            upstream._body = body  # the proxy streams the cached body
        return upstream

    async def _touch(self, login: LoginSession) -> None:
        """Activity on the login read at the start of the request (not read again), when due."""
        t = now()
        if login.id is not None and sessions.touch_due(login, t):
            login_id = login.id
            await db(lambda s: sessions.touch_id(session=s, login_id=login_id, now=t))

    async def check(self, request: Request, account: Account, call: Call, body: bytes, login: LoginSession | None = None
                    ) -> tuple[bytes, int | None, tuple[str, dict[str, Any]] | None]:
        """Refuse (Forbidden) what this person may not do; returns the body to forward, the
        receipt written for a gate answer, and what to audit once the server accepted."""
        role = AccessRole(account.role)
        if call.kind is Kind.READ:
            return body, None, None
        if call.kind is Kind.WORKER:
            raise Forbidden("该操作只由执行器和投递进程进行，不能通过界面办理")
        if call.kind is Kind.ADMIN:
            require(role, Action.ADMINISTER_PLATFORM)
            return body, None, ("管理流程平台", {"method": request.method, "path": request.url.path[:200]})
        if call.kind is Kind.DELETE_RUN:
            require(role, Action.DELETE_RUN)
            return body, None, ("删除流程运行", {"path": request.url.path[:200]})
        if call.kind is Kind.RUN_STATE:
            state = _json(body).get("state") or {}
            kind = str(state.get("type", "")).upper() if isinstance(state, dict) else ""
            action = {"CANCELLING": Action.CANCEL_RUN, "CANCELLED": Action.CANCEL_RUN,
                      "SCHEDULED": Action.RETRY_RUN}.get(kind, Action.SET_RUN_STATE)
            require(role, action)
            return body, None, (action.value, {"flow_run_id": call.target, "state": kind})
        if call.kind is Kind.START:
            return await self._check_start(account, call, body)
        return await self._check_answer(account, call, body, login)

    async def _check_start(self, account: Account, call: Call, body: bytes
                           ) -> tuple[bytes, int | None, tuple[str, dict[str, Any]]]:
        r = await self.client.get(f"{self.upstream}/api/deployments/{call.target}", headers=self._auth())
        if r.status_code != 200:
            raise Forbidden("找不到该部署")
        deployment = str(r.json().get("name", ""))
        data = _json(body)
        parameters = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
        await db(lambda s: door.authorise_start(session=s, account=account, deployment=deployment,
                                                parameters=parameters or {}))
        # The form's reporter / signer is the person logged in, not a typed name.
        params = (parameters or {}).get("params")
        if isinstance(params, dict):
            for field in ("reporter", "signer"):
                if field in params:
                    params[field] = account.name
        # The unit's tag, by which its team reads the run (reads.py); none typed by the person.
        data["tags"] = door.start_tags(parameters or {}, data.get("tags"))
        # The domain's own checks, before any run exists: a bad form is refused in Chinese here
        # instead of becoming a run that can only fail (tasks/ops/start_checks.py).
        t = now()
        problems = await db(lambda s: start_checks.start_problems(session=s, settings=self.settings, deployment=deployment,
                                                                  parameters=parameters or {}, now=t))
        if problems:
            raise start_checks.refusal(deployment, problems)
        name = run_names.start_run_name(deployment, parameters or {})  # not the UI's generated name
        if name:
            data["name"] = name
        body = json.dumps(data, ensure_ascii=False).encode()
        return body, None, ("运行部署", {"deployment": deployment})

    async def _check_answer(self, account: Account, call: Call, body: bytes, login: LoginSession | None = None
                            ) -> tuple[bytes, int | None, tuple[str, dict[str, Any]]]:
        """A gate answer: who may answer and the form's own refusals in one transaction, before
        Prefect is asked for the run's pause key; then the receipt with the person's activity."""
        data = _json(body)
        run_input = data.get("run_input")

        def allowed(s: Session) -> int:
            approval = door.authorise_answer(session=s, account=account, flow_run_id=call.target)
            coverage_refusal(s, approval, data)
            # No control or bidi-override characters in an answer (the form would refuse it inside the
            # flow, which could only ask again without saying why).
            bad = first_control({k: v for k, v in run_input.items() if isinstance(v, str)}) \
                if isinstance(run_input, dict) else None
            if bad is not None:
                raise DomainError(f"提交的审批内容{bad[1]}，请删除后重新提交")
            assert approval.id is not None
            return approval.id

        approval_id = await db(allowed)
        r = await self.client.get(f"{self.upstream}/api/flow_runs/{call.target}", headers=self._auth())
        state = (r.json().get("state") or {}) if r.status_code == 200 else {}
        pause_key = str((state.get("state_details") or {}).get("pause_key") or "")
        if not pause_key:
            raise Forbidden("该流程运行当前没有等待审批")
        t = now()

        def receipt(s: Session) -> int:
            row = receipts.write_receipt(session=s, settings=self.settings, approval_id=approval_id,
                                         flow_run_id=call.target, pause_key=pause_key, person=account.name, now=t)
            if login is not None and login.id is not None:
                sessions.touch_id(session=s, login_id=login.id, now=t)
            assert row.id is not None
            return row.id

        receipt_id = await db(receipt)
        if isinstance(run_input, dict) and "approver" in run_input:
            run_input["approver"] = account.name  # what Prefect stores shows who answered
            body = json.dumps(data, ensure_ascii=False).encode()
        return body, receipt_id, ("提交审批", {"approval_id": approval_id, "pause_key": pause_key})

    def _auth(self) -> dict[str, str]:
        return {"authorization": self.auth_header[1].decode()} if self.auth_header else {}

    async def _after(self, response: Response, account: Account, receipt_id: int | None,
                     audit: tuple[str, dict[str, Any]] | None) -> Response:
        """Read the server's answer: a resume it did not accept withdraws the receipt; what it
        accepted is audited under the person's name."""
        # The proxy streams the server's answer; its own refusal (502, server unreachable) is a plain Response.
        if isinstance(response, StreamingResponse):
            chunks = [c async for c in response.body_iterator]
        else:
            chunks = [bytes(response.body)]
        if response.background is not None:
            await response.background()
        content = b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in chunks)
        accepted = 200 <= response.status_code < 300
        if receipt_id is not None and accepted:
            text = gzip.decompress(content) if response.headers.get("content-encoding") == "gzip" else content
            try:
                accepted = _json(text).get("status", "ACCEPT") == "ACCEPT"
            except DomainError:
                log.warning("resume answered %s with a body that is not JSON", response.status_code)
                accepted = False
        t = now()

        def work(s: Session) -> None:
            if receipt_id is not None and not accepted:
                receipts.withdraw_receipt(session=s, receipt_id=receipt_id)
            if audit is not None and accepted:
                record_event(session=s, actor=account.name, action=audit[0], entity="prefect", entity_id=None, now=t,
                             detail=audit[1])

        await db(work)
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "transfer-encoding")}
        # (content-encoding stays: the bytes are passed on as they came)
        return Response(content, status_code=response.status_code, headers=headers)


    async def ui_settings(self, request: Request) -> Response:
        """The UI asks where the API is: here (the gateway), and no login of Prefect's own."""
        r = await self.client.get(self.upstream + request.url.path, headers=self._auth())
        data = r.json()
        data["api_url"] = f"{request.url.scheme}://{request.headers.get('host', '')}/api"
        data["auth"] = None
        # The classic UI only: no "Try V2 UI" banner, no switch (docs/console.md).
        data.update(default_ui="v1", available_uis=["v1"], v2_base_url=None)
        return JSONResponse(data, headers={"Cache-Control": "no-store"})

    async def page_with_script(self, request: Request) -> Response:
        """A page of the UI, with the gateway's script (user, logout, activity, refusals)."""
        upstream = self._upstream_request(request, None)
        headers = {k.decode(): v.decode("latin-1") for k, v in upstream.scope["headers"] if k not in (b"host",)}
        url = self.upstream + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        r = await self.client.get(url, headers=headers)
        if "text/html" not in r.headers.get("content-type", ""):
            return Response(r.content, status_code=r.status_code, media_type=r.headers.get("content-type"))
        html = r.text.replace("</head>", '<script src="/gateway/session.js"></script></head>', 1)
        html = html.replace("</head>", '<script src="/gateway/nav.js"></script></head>', 1)
        html = html.replace("</head>", f'<script src="{CONSOLE_ZH}"></script></head>', 1)
        passthrough = {k: v for k, v in r.headers.items()
                       if k.lower() in ("location", "cache-control", "set-cookie", "etag", "last-modified")}
        response = HTMLResponse(html, status_code=r.status_code, headers=passthrough)
        if UI_COOKIE in request.cookies:
            response.delete_cookie(UI_COOKIE, path="/")
        return response

    def _classic(self, request: Request) -> Response:
        """A request for Prefect's V2 UI: a page goes to the same page of the classic UI (and the
        browser's V2 preference cookie is cleared); anything else is not served."""
        if not _is_navigation(request):
            return Response(status_code=404)
        rest = request.url.path[len("/v2"):] or "/"
        response = RedirectResponse(_safe_next(rest + (f"?{request.url.query}" if request.url.query else "")),
                                    status_code=303)
        response.delete_cookie(UI_COOKIE, path="/")
        return response

    async def socket(self, websocket: WebSocket) -> None:
        path = websocket.url.path
        found = await self.current(websocket)
        account, login = found.account, found.login
        if account is None or login is None or Stage(login.stage) is not Stage.ACTIVE or not same_origin(websocket) or \
                not path.startswith("/api/") or not socket_allowed(path.removeprefix("/api")) or \
                not socket_reader(AccessRole(account.role), path.removeprefix("/api")):
            await websocket.close(code=4403)  # before accept: the client sees 403
            return
        headers = [(k, v) for k, v in websocket.scope["headers"] if k not in (b"cookie", b"authorization", b"origin")]
        if self.auth_header:
            headers.append(self.auth_header)
        scope = dict(websocket.scope)
        scope["headers"] = headers
        await self.ws.proxy(websocket=WebSocket(scope, websocket.receive, websocket.send), path=path.lstrip("/"))

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.ws.aclose()


def _v2(path: str) -> bool:
    return path == "/v2" or path.startswith("/v2/")


def coverage_refusal(session: Session, approval: Any, data: dict[str, Any]) -> None:
    """巡察组提交报告 with an indicator not examined or a method not used and no reason: refused on the
    form before the run resumes (the flow checks the same again, tasks/stationing/indicators.py)."""
    if Gate(approval.gate) is not Gate.STATIONING_DONE or approval.inspection_id is None:
        return
    run_input = data.get("run_input")
    reason = run_input.get("gap_reason") if isinstance(run_input, dict) else ""
    problem = indicators.gap_problem(indicators.coverage(session=session, inspection_id=approval.inspection_id),
                                     reason if isinstance(reason, str) else "")
    if problem:
        raise DomainError(f"未提交“{Gate.STATIONING_DONE.value}”：{problem}")


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise DomainError("请求内容不是有效的 JSON") from None
    return data if isinstance(data, dict) else {}


Endpoint = Callable[[Request], Awaitable[Response]]


def form_page(path: str, show: Endpoint, answer: Endpoint) -> list[Route]:
    """A page with a form: shown on GET, answered on POST."""
    return [Route(path, show, methods=["GET"]), Route(path, answer, methods=["POST"])]


def create_app(*, upstream: str, settings: Settings | None = None) -> Starlette:
    from deployments.gateway.office import Office  # it imports this module's helpers

    gw = Gateway(upstream=upstream, settings=settings)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> Any:
        yield
        await gw.aclose()

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    app = Starlette(routes=[
        *form_page("/login", gw.login_get, gw.login_post),
        *form_page("/login/totp", gw.totp_get, gw.totp_post),
        *form_page("/password", gw.password_get, gw.password_post),
        Route("/logout", gw.logout, methods=["POST"]),
        Route("/gateway/me", gw.me, methods=["GET"]),
        Route("/gateway/activity", gw.activity, methods=["POST"]),
        Route("/gateway/health", gw.health, methods=["GET"]),
        Route("/gateway/session.js", gw.script, methods=["GET"]),
        Route(CONSOLE_ZH, gw.console_zh, methods=["GET"]),
        Route(CONSOLE_ZH_DICT, gw.console_zh, methods=["GET"]),
        Route("/gateway/nav.js", gw.nav_script, methods=["GET"]),
        *form_page("/approve/{run_id:uuid}", gw.phone_get, gw.phone_post),
        *Office(gw).routes(),  # the office's own pages, /office/...
        WebSocketRoute("/{path:path}", gw.socket),
        Route("/{path:path}", gw.forward, methods=methods),
    ], lifespan=lifespan, exception_handlers={FormTooLong: _too_long}, middleware=hardening.middleware(gw.settings))
    app.state.gateway = gw
    return app
