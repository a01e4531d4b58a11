"""The gateway in-process (Starlette's TestClient): a client logged in through the login form, and
the CSRF token of a page's form."""

from __future__ import annotations

import re

import pyotp
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.support.accounts import ready_account

ORIGIN = "http://127.0.0.1:4200"


def logged_in(app: Starlette, name: str) -> TestClient:
    """A client logged in as `name` through the login form (and the second factor where the role needs one)."""
    acc = ready_account(name)
    client = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    r = client.post("/login", data={"name": acc.name, "password": acc.password, "next": "/"})
    assert r.status_code == 303, r.text
    if r.headers["location"] == "/login/totp":
        r = client.post("/login/totp", data={"code": pyotp.TOTP(acc.secret).now()})
        assert r.status_code == 303, r.text
    assert client.get("/gateway/me").json()["name"] == name
    return client


def csrf(page: str) -> str:
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert m is not None, "no CSRF token on the page"
    return m.group(1)
