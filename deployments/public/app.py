"""The public reporting page as an ASGI app (Starlette), apart from the office's gateway.

Only its own routes: the form (/), the report (POST /report), the query page (/query) and a
health check; anything else is not found, and nothing is forwarded anywhere. No login: a form
POST must come from this site (Origin, Sec-Fetch-Site) and carry a token this app signed (an
HMAC of the time it was issued, valid for CSRF_MAX_AGE), and the honeypot field must be empty.
The work is done by tasks/clues/public.py, which keeps the rate limits. Nothing the public
types, and no query code, is ever logged; the success page is not cached.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from models.clock import now
from models.db import get_engine
from models.errors import DomainError
from models.settings import Settings, get_settings
from tasks.clues import public
from tasks.identity.keys import purpose_keys

log = logging.getLogger("xuncha.public")
T = TypeVar("T")
TEMPLATES = Path(__file__).resolve().parent / "templates"
FORM_LIMIT = 32_768  # 2000 Chinese characters percent-encoded, and the other fields
CSRF_MAX_AGE = 2 * 3600  # seconds a form may stay open
HONEYPOT = "website"
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: with it a browser sends "Origin: null" on the form POST, which same_origin refuses.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _db(work: Callable[[Session], T]) -> T:
    with Session(get_engine(), expire_on_commit=False) as s:
        try:
            return work(s)
        except BaseException:
            s.rollback()
            raise


async def db(work: Callable[[Session], T]) -> T:
    return await run_in_threadpool(_db, work)


def cn_date(d: Any) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


env.filters["cn_date"] = cn_date


class PublicPage:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    # CSRF without a session: a token signed with the identity keys over the time it was issued.

    def csrf_token(self, at: int | None = None) -> str:
        issued = str(int(now().timestamp()) if at is None else at)
        key = purpose_keys(self.settings, "public-form")[0]
        return f"{issued}.{hmac.new(key, issued.encode(), hashlib.sha256).hexdigest()}"

    def csrf_ok(self, token: str) -> bool:
        issued, _, mac = token.partition(".")
        if not issued.isdigit() or not 0 <= now().timestamp() - int(issued) <= CSRF_MAX_AGE:
            return False
        return any(hmac.compare_digest(hmac.new(k, issued.encode(), hashlib.sha256).hexdigest(), mac)
                   for k in purpose_keys(self.settings, "public-form"))

    @staticmethod
    def same_origin(request: Request) -> bool:
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return True  # not a browser's cross-site form (those carry Origin), and the token still counts
        return origin != "null" and urlsplit(origin).netloc == request.headers.get("host", "")

    @staticmethod
    def client(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    # Pages -------------------------------------------------------------------------------------

    def render(self, template: str, *, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx = {"error": "", "csrf": self.csrf_token(), "honeypot": HONEYPOT} | ctx
        return HTMLResponse(env.get_template(template).render(**ctx), status_code=status, headers=HEADERS)

    async def _form_page(self, *, status: int = 200, error: str = "", values: dict[str, str] | None = None) -> Response:
        units = await db(lambda s: public.open_units(session=s))
        return self.render("report.html", status=status, units=units, error=error, values=values or {},
                           limit=public.CONTENT_LIMIT)

    async def form(self, request: Request) -> Response:
        return await self._form_page()

    async def _posted(self, request: Request) -> dict[str, str] | Response:
        """The form of a POST that passed the origin, size, token and honeypot checks; else the refusal."""
        if not self.same_origin(request):
            return self.render("refused.html", status=403, reason="跨站提交被拒绝，请从本页面提交")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > FORM_LIMIT:
                return self.render("refused.html", status=413, reason="提交的内容过长")
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        if not self.csrf_ok(form.get("csrf", "")):
            return self.render("refused.html", status=403, reason="页面已过期或来源不明，请重新打开页面后提交")
        if form.get(HONEYPOT, ""):
            return self.render("refused.html", status=400, reason="提交未通过校验")
        return form

    async def report(self, request: Request) -> Response:
        form = await self._posted(request)
        if isinstance(form, Response):
            return form
        anonymous = form.get("mode", "") != "named"
        kept = {k: form.get(k, "") for k in ("inspection", "content", "mode")}  # never the informant back
        try:
            inspection_id = int(form.get("inspection", "") or 0)
        except ValueError:
            inspection_id = 0
        client, t = public.client_key(self.settings, self.client(request)), now()
        try:
            done = await db(lambda s: public.submit_report(
                session=s, settings=self.settings, inspection_id=inspection_id, content=form.get("content", ""),
                anonymous=anonymous, name=form.get("name", ""), contact=form.get("contact", ""), client=client, now=t))
        except public.RateLimited as exc:
            return await self._form_page(status=429, error=str(exc), values=kept)
        except DomainError as exc:
            return await self._form_page(status=400, error=str(exc), values=kept)
        return self.render("received.html", code=public.grouped(done.code), anonymous=anonymous)

    async def query_form(self, request: Request) -> Response:
        return self.render("query.html", status_text="")

    async def query(self, request: Request) -> Response:
        form = await self._posted(request)
        if isinstance(form, Response):
            return form
        client, t = public.client_key(self.settings, self.client(request)), now()
        try:
            status = await db(lambda s: public.query_report(session=s, settings=self.settings,
                                                            code=form.get("code", "")[:64], client=client, now=t))
        except public.RateLimited as exc:
            return self.render("query.html", status=429, error=str(exc), status_text="")
        except DomainError as exc:
            return self.render("query.html", status=404, error=str(exc), status_text="")
        return self.render("query.html", status_text=status)

    async def health(self, request: Request) -> Response:
        return PlainTextResponse("ok", headers=HEADERS)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        reason = "没有这个页面" if status == 404 else "不支持的请求"
        return self.render("refused.html", status=status, reason=reason)


Endpoint = Callable[[Request], Awaitable[Response]]


def guarded(page: PublicPage, endpoint: Endpoint) -> Endpoint:
    """An unexpected error answers a plain Chinese page and is logged by its type only: its text
    (a database error carries the statement's parameters) might hold what the reporter typed."""
    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Exception as exc:
            log.error("公开举报页面出错：%s（%s）", type(exc).__name__, request.url.path)
            return page.render("refused.html", status=500, reason="系统暂时无法办理，请稍后再试")

    return run


def create_app(*, settings: Settings | None = None) -> Starlette:
    page = PublicPage(settings)
    app = Starlette(routes=[
        Route("/", guarded(page, page.form), methods=["GET"]),
        Route("/report", guarded(page, page.report), methods=["POST"]),
        Route("/query", guarded(page, page.query_form), methods=["GET"]),
        Route("/query", guarded(page, page.query), methods=["POST"]),
        Route("/health", page.health, methods=["GET"]),
    ], exception_handlers={HTTPException: page.not_found},
        # Behind HTTPS termination the per-source limits count the address the trusted proxy forwarded.
        middleware=[Middleware(ProxyHeadersMiddleware, trusted_hosts=list(page.settings.trusted_proxies))])
    app.state.public = page
    return app
