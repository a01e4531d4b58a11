"""The gateway in-process (Starlette's TestClient): a client logged in through the login form, and
the CSRF token of a page's form (the login forms carry one too: `login_post`, `totp_post`)."""

from __future__ import annotations

import re
from typing import Any

import pyotp
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.support.accounts import ready_account

ORIGIN = "http://127.0.0.1:4200"


def logged_in(app: Starlette, name: str) -> TestClient:
    """A client logged in as `name` through the login form (and the second factor where the role needs one)."""
    acc = ready_account(name)
    client = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    r = login_post(client, acc.name, acc.password)
    assert r.status_code == 303, r.text
    if r.headers["location"] == "/login/totp":
        r = totp_post(client, pyotp.TOTP(acc.secret).now())
        assert r.status_code == 303, r.text
    assert client.get("/gateway/me").json()["name"] == name
    return client


def csrf(page: str) -> str:
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert m is not None, "no CSRF token on the page"
    return m.group(1)


def login_post(client: Any, name: str, password: str, next_url: str = "/", **headers: str) -> Any:
    """The login form sent as a browser sends it: the page first (its cookie and CSRF token).
    `client` is a TestClient or an httpx.Client (the real stack)."""
    token = csrf(client.get("/login", headers=headers).text)
    return client.post("/login", data={"name": name, "password": password, "next": next_url, "csrf": token},
                       headers=headers)


def totp_post(client: Any, code: str, **headers: str) -> Any:
    token = csrf(client.get("/login/totp", headers=headers).text)
    return client.post("/login/totp", data={"code": code, "csrf": token}, headers=headers)


def password_post(client: Any, old: str, new: str, repeat: str | None = None) -> Any:
    token = csrf(client.get("/password").text)
    return client.post("/password", data={"old": old, "new": new, "repeat": new if repeat is None else repeat,
                                          "csrf": token})
