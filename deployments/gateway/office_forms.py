"""The office pages' form plumbing, shared by office.py and the page modules it mounts (accounts,
holidays, indicators, rectification, results, talks, undelivered): the path prefix, the session's
CSRF token, and the confirmation a page shows after a form was done (signed for the session)."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse

from deployments.gateway.hardening import session_token, session_token_ok
from models.tables import LoginSession
from tasks.identity.keys import purpose_keys

if TYPE_CHECKING:
    from deployments.gateway.app import Gateway

PREFIX = "/office"


def csrf_token(gw: Gateway, login: LoginSession) -> str:
    return session_token(gw.settings, login)


def csrf_ok(gw: Gateway, login: LoginSession, token: str) -> bool:
    return session_token_ok(gw.settings, login, token)


def _notice_mac(key: bytes, login: LoginSession, text: str) -> str:
    return hmac.new(key, f"{login.token_hash}\n{text}".encode(), hashlib.sha256).hexdigest()[:32]


def after_post(gw: Gateway, login: LoginSession, path: str, text: str, *, query: str = "",
               anchor: str = "") -> RedirectResponse:
    """Back to a page after a form was done, with the confirmation to show there. The text rides in
    the address signed for this session, so a crafted link cannot show a false "已签收"."""
    mac = _notice_mac(purpose_keys(gw.settings, "notice")[0], login, text)
    return RedirectResponse(f"{path}?{query + '&' if query else ''}done={quote(text)}&sig={mac}"
                            + (f"#{anchor}" if anchor else ""), status_code=303)


def notice_of(gw: Gateway, login: LoginSession, request: Request) -> str:
    """The confirmation an address carries, if this gateway signed it for this session; else none."""
    text, sig = request.query_params.get("done", ""), request.query_params.get("sig", "")
    ok = bool(text) and any(hmac.compare_digest(_notice_mac(k, login, text), sig) for k in purpose_keys(gw.settings, "notice"))
    return text if ok else ""
