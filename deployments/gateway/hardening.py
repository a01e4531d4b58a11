"""The gateway's browser-side defences: security headers on every answer, CSRF tokens for the
login forms, and the client's address behind trusted proxies.

Headers: the gateway's own pages (login, second factor, password, the phone page, /office/,
/gateway/) get the public page's strict set — a Content-Security-Policy that loads nothing from
elsewhere and runs no inline script, no framing, no MIME sniffing, the referrer kept on this
site. Prefect's UI, which the gateway forwards, runs its own scripts and styles: its pages only
get the framing and referrer rules, which it does not rely on, so it still draws as before.

CSRF: before a session exists (the login form) the browser holds a random cookie and the form an
HMAC of it under the identity keys (a double-submit the other site can neither read nor set);
once it exists (second factor, password change, the office's pages) the token is an HMAC of the
session (office.py's csrf_token), so nothing more is stored.

Proxies: uvicorn's ProxyHeadersMiddleware believes X-Forwarded-For / X-Forwarded-Proto only from
the peers the setting `trusted_proxies` lists; from anyone else the headers are ignored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from models.settings import Settings
from models.tables import LoginSession
from tasks.identity.keys import purpose_keys

# The public page's policy (deployments/public/app.py), with this site's images (a QR code may be
# an image) and scripts from this site only; inline style as its pages use.
OWN_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "script-src 'self'; connect-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: with it a browser sends "Origin: null" on a form POST, which same_origin refuses.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
UI_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
LOGIN_COOKIE = "xuncha_login"


def own_page(path: str) -> bool:
    return path in ("/login", "/password", "/logout", "/office") or \
        path.startswith(("/login/", "/approve/", "/office/", "/gateway/"))


class SecurityHeaders:
    """Adds the headers above to every HTTP answer, unless the answer set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = OWN_HEADERS if own_page(scope.get("path", "")) else UI_HEADERS

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k.lower().encode(), v.encode()) for k, v in extra.items() if k.lower().encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def middleware(settings: Settings) -> list[Middleware]:
    """The gateway's middleware, outermost first: the client's real address, then the headers."""
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies)),
            Middleware(SecurityHeaders)]


def client_address(request: Request) -> str:
    """The client's address (behind a trusted proxy, the one it forwarded)."""
    return request.client.host if request.client else "unknown"


# CSRF before a session --------------------------------------------------------------------------

def _mac(key: bytes, value: str) -> str:
    return hmac.new(key, f"login-form\n{value}".encode(), hashlib.sha256).hexdigest()


def login_cookie(request: Request) -> str:
    """The browser's login-form cookie, or a new random one (set it with `keep_login_cookie`)."""
    value = request.cookies.get(LOGIN_COOKIE, "")
    return value if 20 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum() \
        else secrets.token_urlsafe(24)


def keep_login_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(LOGIN_COOKIE, value, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")


def login_token(settings: Settings, cookie: str) -> str:
    return _mac(purpose_keys(settings, "csrf")[0], cookie)


def login_token_ok(settings: Settings, request: Request, token: str) -> bool:
    """The form's token matches the browser's cookie (under any live identity key)."""
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    return bool(cookie) and bool(token) and any(
        hmac.compare_digest(_mac(k, cookie), token) for k in purpose_keys(settings, "csrf"))


# CSRF within a session ---------------------------------------------------------------------------

def session_token(settings: Settings, login: LoginSession) -> str:
    return hmac.new(purpose_keys(settings, "csrf")[0], login.token_hash.encode(), hashlib.sha256).hexdigest()


def session_token_ok(settings: Settings, login: LoginSession, token: str) -> bool:
    """Any live identity key verifies (a key rotation does not void open forms)."""
    return any(hmac.compare_digest(hmac.new(k, login.token_hash.encode(), hashlib.sha256).hexdigest(), token)
               for k in purpose_keys(settings, "csrf"))
