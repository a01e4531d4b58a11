"""用户管理 at /office/accounts and the second factor's binding page, in-process.

The office sets a password (shown once, on the answer page only), resets a second factor and
deactivates and reactivates accounts; each is audited and every other role is refused. The
binding page shows a QR code of the otpauth address, and the key it shows stays the same through
a reload and a typo until it is bound."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from deployments.gateway.app import create_app
from deployments.ops.stack import free_port
from models.db import session_scope
from models.tables import Account, AuditEvent, Credential
from tasks.identity import sessions
from tasks.infra.audit import verify_trail
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.gateway import ORIGIN, csrf, logged_in, login_post, totp_post


@pytest.fixture
def app(cli_home: Path) -> Iterator[Starlette]:
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    yield create_app(upstream=f"http://127.0.0.1:{free_port()}")


def _events(action: str) -> list[AuditEvent]:
    with session_scope() as s:
        rows = list(s.exec(select(AuditEvent).where(AuditEvent.action == action)).all())
        s.expunge_all()
        return rows


def _credential(name: str) -> Credential | None:
    with session_scope() as s:
        acc = s.exec(select(Account).where(Account.name == name)).one()
        cred = s.exec(select(Credential).where(Credential.account_id == acc.id)).first()
        s.expunge_all()
        return cred


def _post(client: TestClient, path: str, **data: str) -> object:
    token = csrf(client.get("/office/accounts").text)
    return client.post(path, data={"csrf": token, **data}, headers={"Origin": ORIGIN})


def _secret(page: str) -> str:
    m = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page)
    assert m is not None, page
    return m.group(1).replace(" ", "")


def test_the_office_sets_a_password_shown_once_and_the_person_logs_in(app: Starlette) -> None:
    office = logged_in(app, "陶文华")
    page = office.get("/office/accounts")
    assert page.status_code == 200 and "<h1>用户管理</h1>" in page.text
    assert 'href="/office/accounts"' in office.get("/office/").text  # in the office's menu
    row = page.text[page.text.index("<td>林静</td>"):].split("</tr>")[0]
    assert "<td>未设置</td>" in row and "设置初始密码" in row
    assert _credential("林静") is None
    r = _post(office, "/office/accounts/password", name="林静")
    assert r.status_code == 200 and "只显示这一次" in r.text  # type: ignore[attr-defined]
    m = re.search(r'id="initial-password-value">([A-Za-z0-9]{12})<', r.text)  # type: ignore[attr-defined]
    assert m is not None
    password = m.group(1)
    assert password not in office.get("/office/accounts").text  # once: a reload no longer shows it
    (event,) = _events("重置密码")
    assert event.actor == "陶文华" and password not in str(event.detail)
    # The person logs in with it and must change it.
    person = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    r = login_post(person, "林静", password)
    assert r.status_code == 303 and r.headers["location"] == "/password"
    after = office.get("/office/accounts").text
    assert "<td>待本人修改</td>" in after[after.index("<td>林静</td>"):].split("</tr>")[0]


def test_the_office_resets_a_second_factor_and_deactivates_an_account(app: Starlette) -> None:
    office = logged_in(app, "陶文华")
    leader = logged_in(app, "张明")  # bound second factor, a live session
    cred = _credential("张明")
    assert cred is not None and cred.totp_enrolled_at is not None
    r = _post(office, "/office/accounts/second-factor", name="张明")
    assert r.status_code == 303  # type: ignore[attr-defined]
    done = office.get(r.headers["location"]).text  # type: ignore[attr-defined]
    assert "已重置“张明”的动态口令，下次登录时重新绑定；其已登录的1个会话已失效" in done
    cred = _credential("张明")
    assert cred is not None and cred.totp_enrolled_at is None and cred.totp_secret_enc == ""
    me = leader.get("/gateway/me")
    assert me.status_code == 401  # the session ended, and the leader is told it was the office, not a logout
    assert me.json() == {"detail": sessions.Ended.CHANGED.value, "reason": "changed"}
    assert sessions.Ended.CHANGED.value in leader.get("/login?reason=changed").text
    # A role without a second factor: nothing to reset, said in Chinese, nothing written.
    r = _post(office, "/office/accounts/second-factor", name="林静")
    assert r.status_code == 400 and "不使用动态口令" in r.text  # type: ignore[attr-defined]

    member = logged_in(app, "林静")
    r = _post(office, "/office/accounts/active", name="林静", active="0")
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert "已停用用户“林静”；其已登录的1个会话已失效" in office.get(r.headers["location"]).text  # type: ignore[attr-defined]
    me = member.get("/gateway/me")
    assert me.status_code == 401 and me.json()["detail"] == "巡察办调整了您的账户（重置密码、重置动态口令或停用账户），本次登录已结束；请重新登录，无法登录的请联系巡察办"
    page = member.get("/runs", headers={"Accept": "text/html", "Sec-Fetch-Mode": "navigate"})
    assert page.status_code == 303 and page.headers["location"].startswith("/login?reason=changed&")
    again = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    from tests.support.accounts import E2E_PASSWORD

    r = login_post(again, "林静", E2E_PASSWORD)
    assert r.status_code == 401  # a deactivated account cannot log in
    r = _post(office, "/office/accounts/active", name="林静", active="1")
    assert r.status_code == 303  # type: ignore[attr-defined]
    r = login_post(again, "林静", E2E_PASSWORD)
    assert r.status_code == 303
    # Not oneself, not the last office account.
    r = _post(office, "/office/accounts/active", name="陶文华", active="0")
    assert r.status_code == 400 and "不能停用本人的账户" in r.text  # type: ignore[attr-defined]
    assert [e.actor for e in _events("重置动态口令")] == ["陶文华"]
    assert [(e.actor, e.detail["account"]) for e in _events("停用用户")] == [("陶文华", "林静")]  # type: ignore[index]
    assert [e.actor for e in _events("启用用户")] == ["陶文华"]
    with session_scope() as s:
        assert verify_trail(session=s) == []


@pytest.mark.parametrize("name", ["张明", "李建国", "林静", "郑文斌", "钱正平"])
def test_other_roles_are_refused_and_audited(app: Starlette, name: str) -> None:
    client = logged_in(app, name)
    assert 'href="/office/accounts"' not in client.get("/office/").text
    r = client.get("/office/accounts")
    assert r.status_code == 403 and "无权" in r.text and "管理用户" in r.text
    before = _credential("陶文华")
    for path, extra in (("/office/accounts/password", {}), ("/office/accounts/second-factor", {}),
                        ("/office/accounts/active", {"active": "0"})):
        r = client.post(path, data={"csrf": csrf(client.get("/office/").text), "name": "陶文华", **extra},
                        headers={"Origin": ORIGIN})
        assert r.status_code == 403, (path, r.text)
    after = _credential("陶文华")
    assert (before.password_hash if before else None) == (after.password_hash if after else None)
    assert not _events("重置密码") and not _events("停用用户")
    refused = [e for e in _events("办公页面（被拒绝）") if e.actor == name]
    assert len(refused) == 4 and all("/office/accounts" in str(e.detail) for e in refused)


def test_a_post_without_the_csrf_token_is_refused(app: Starlette) -> None:
    office = logged_in(app, "陶文华")
    r = office.post("/office/accounts/password", data={"name": "林静"}, headers={"Origin": ORIGIN})
    assert r.status_code == 403 and "校验码" in r.text
    assert _credential("林静") is None


# The binding page ----------------------------------------------------------------------------

def test_the_binding_page_has_a_qr_code_and_keeps_its_key_through_a_reload_and_a_typo(app: Starlette) -> None:
    office = logged_in(app, "陶文华")
    r = _post(office, "/office/accounts/password", name="张明")
    password = re.search(r'id="initial-password-value">([A-Za-z0-9]{12})<', r.text).group(1)  # type: ignore[attr-defined, union-attr]
    person = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    r = login_post(person, "张明", password)
    assert r.headers["location"] == "/login/totp"
    page = person.get("/login/totp").text
    secret = _secret(page)
    qr = re.search(r'<div class="qr" id="totp-qr">(<svg.*?</svg>)</div>', page, re.S)
    assert qr is not None and "<path" in qr.group(1)  # an inline SVG, drawn by segno
    uri = re.search(r'id="totp-uri">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    assert f"secret={secret}" in uri
    import segno

    assert qr.group(1) == segno.make(uri.replace("&amp;", "&"), error="m").svg_inline(
        scale=5, border=2, title="动态口令绑定二维码")  # the QR code is of this very address
    assert _secret(person.get("/login/totp").text) == secret  # a reload shows the same key
    wrong = totp_post(person, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    assert wrong.status_code == 401
    assert _secret(wrong.text) == secret and "密钥没有变" in wrong.text and "上面的密钥" in wrong.text
    message = re.search(r'<div class="error" role="alert">([^<]+)</div>', wrong.text).group(1)  # type: ignore[union-attr]
    assert "下面" not in message and wrong.text.index("totp-secret") < wrong.text.index(message)  # the key is above it
    r = totp_post(person, pyotp.TOTP(secret).now())
    assert r.status_code == 303 and r.headers["location"] == "/password"
    cred = _credential("张明")
    assert cred is not None and cred.totp_enrolled_at is not None
