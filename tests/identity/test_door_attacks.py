"""The gateway against an attacker, in-process (Starlette's TestClient): lock-out that cannot be
aimed at an account in seconds, no name guessing, throttled phone codes, session renewal,
headers, trusted proxies and CSRF on the login forms. The same on the real stack:
tests/e2e/test_gateway_stack.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from deployments.gateway import app as gateway_app
from deployments.gateway.app import COOKIE, create_app
from deployments.ops.stack import free_port
from models.clock import now as clock_now
from models.db import session_scope
from models.enums import Gate
from models.settings import get_settings
from models.tables import Alert, Approval, AuditEvent
from tasks.identity import phone
from tasks.identity.credentials import credential_of, find_account
from tasks.infra.alerts import message_text
from tasks.lifecycle.approvals import open_gate
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.accounts import ready_account
from tests.support.factories import make_round
from tests.support.gateway import ORIGIN, csrf, login_post, password_post, totp_post


@pytest.fixture
def app(cli_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Starlette]:
    # 10.0.0.0/24 is the HTTPS front the tests pose as; nothing listens upstream.
    monkeypatch.setenv("XUNCHA_TRUSTED_PROXIES", '["10.0.0.0/24"]')
    get_settings.cache_clear()
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    yield create_app(upstream=f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()


def client(app: Starlette, peer: str = "192.0.2.10") -> TestClient:
    return TestClient(app, base_url=ORIGIN, follow_redirects=False, client=(peer, 50000))


class Clock:
    """The gateway's clock, moved by the test (waits pass without sleeping)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at = clock_now()
        monkeypatch.setattr(gateway_app, "now", lambda: self.at)

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def alert_text(r: Any) -> str:
    m = re.search(r'role="alert">([^<]*)<', r.text)
    return m.group(1) if m else ""


def wait_of(r: Any) -> int:
    m = re.search(r"请(\d+)秒", alert_text(r))
    assert m is not None, r.text
    return int(m.group(1))


def failures(name: str) -> int:
    with session_scope() as s:
        cred = credential_of(s, find_account(s, name))  # type: ignore[arg-type]
        assert cred is not None
        return cred.failures


# Lock-out and names ---------------------------------------------------------------------------

def test_unknown_names_wrong_passwords_and_locked_accounts_answer_alike(app: Starlette, monkeypatch: pytest.MonkeyPatch
                                                                        ) -> None:
    monkeypatch.setattr(get_settings(), "login_max_failures", 1)  # one failure locks 林静
    acc = ready_account("林静")
    answers = []
    for n, name in enumerate(("路人甲", "林静", "林静", "张明")):  # unknown, wrong, wrong while locked, wrong (TOTP role)
        r = login_post(client(app, f"192.0.2.{n}"), name, "not-the-password-1")
        answers.append((r.status_code, alert_text(r)))
    assert answers == [(401, "姓名或密码不正确")] * 4, answers
    # Only the right password is told of the lock.
    r = login_post(client(app, "192.0.2.9"), "林静", acc.password)
    assert "账户已锁定" in alert_text(r)


def test_failures_wait_per_source_before_the_lock(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    """One source spraying names: three free failures, then waits that grow; a refused attempt
    checks nothing and counts nothing, so the account is not locked by speed."""
    clock = Clock(monkeypatch)
    ready_account("林静")
    attacker = client(app)
    for name in ("路人甲", "路人乙", "路人丙"):
        assert login_post(attacker, name, "guess-123456").status_code == 401
    r = login_post(attacker, "林静", "guess-123456")
    assert r.status_code == 429 and alert_text(r) == "尝试次数过多，请30秒后再试"
    assert failures("林静") == 0  # refused before the password was checked
    # The same name from another source is not held up by this one's failures.
    assert login_post(client(app, "192.0.2.77"), "林静", "guess-123456").status_code == 401
    clock.advance(seconds=31)
    assert login_post(attacker, "路人丁", "guess-123456").status_code == 401  # the wait passed: tried and counted
    r = login_post(attacker, "路人戊", "guess-123456")
    assert alert_text(r) == "尝试次数过多，请60秒后再试"  # doubled
    # A hundred tries in a burst reach the password check none of the time.
    for _ in range(20):
        assert login_post(attacker, "林静", "guess-123456").status_code == 429
    assert failures("林静") == 1


def test_failures_wait_per_name_whatever_the_source(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    acc = ready_account("林静")
    for n in range(3):
        login_post(client(app, f"198.51.100.{n}"), "林静", "guess-123456")
    r = login_post(client(app, "198.51.100.200"), "林静", acc.password)  # even the right password waits
    assert r.status_code == 429
    # The same wait for a name that does not exist: no telling names apart by the throttle either.
    for n in range(3):
        login_post(client(app, f"198.51.100.{n + 10}"), "路人甲", "guess-123456")
    assert alert_text(login_post(client(app, "198.51.100.201"), "路人甲", "x")) == alert_text(r)
    clock.advance(seconds=31)
    assert login_post(client(app, "198.51.100.200"), "林静", acc.password).status_code == 303
    assert failures("林静") == 0


def test_an_office_reset_ends_the_names_waits(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone guessed at 林静's name; the office resets her password: she logs in at once."""
    from tasks.identity.accounts import reset_password

    Clock(monkeypatch)
    ready_account("林静")
    for n in range(3):
        login_post(client(app, f"203.0.113.{n}"), "林静", "guess-123456")
    assert login_post(client(app, "203.0.113.50"), "林静", "guess-123456").status_code == 429
    with session_scope() as s:
        office = find_account(s, "陶文华")
        assert office is not None
        new = reset_password(session=s, by=office, name="林静", now=clock_now()).password
    r = login_post(client(app, "203.0.113.51"), "林静", new)
    assert r.status_code == 303, alert_text(r)


def test_a_lock_needs_the_waits_first_and_alerts_the_office(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    acc = ready_account("刘洋")
    started, n = clock.at, 0
    while n < 10:  # the tenth failure locks; each from another source, so only the name's waits apply
        r = login_post(client(app, f"203.0.113.{n}"), "刘洋", "guess-123456")
        if r.status_code == 429:
            clock.advance(seconds=wait_of(r))
            continue
        assert (r.status_code, alert_text(r)) == (401, "姓名或密码不正确")
        n += 1
    assert clock.at - started >= timedelta(minutes=30)  # the waits before a lock, at the defaults
    with session_scope() as s:
        alerts = s.exec(select(Alert).where(col(Alert.dedupe_key).startswith("account:"))).all()
        assert alerts and all(a.role == "office" for a in alerts)
        assert "账户“刘洋”连续10次登录失败" in alerts[0].body and "guess" not in alerts[0].body
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "账户锁定")).one()
    clock.advance(minutes=16)
    assert "账户已锁定" in alert_text(login_post(client(app, "203.0.113.99"), "刘洋", acc.password))


def test_the_second_factor_step_is_throttled_and_counts(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    Clock(monkeypatch)
    acc = ready_account("张明")
    browser = client(app)
    assert login_post(browser, "张明", acc.password).headers["location"] == "/login/totp"
    answers = [totp_post(browser, "000000") for _ in range(4)]
    assert [r.status_code for r in answers] == [401, 401, 401, 429]  # the right password's attempt is not held against it
    assert alert_text(answers[0]) == "动态口令不正确或已使用过"
    assert failures("张明") == 3


# Sessions ----------------------------------------------------------------------------------------

def test_a_new_token_after_the_second_factor_and_after_a_password_change(app: Starlette) -> None:
    acc = ready_account("张明", first_login=True)
    browser = client(app)
    login_post(browser, "张明", acc.password)
    before = browser.cookies[COOKIE]
    page = browser.get("/login/totp").text
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")  # type: ignore[union-attr]
    r = browser.post("/login/totp", data={"code": pyotp.TOTP(secret).now(), "csrf": csrf(page)})
    assert r.status_code == 303
    after_code = browser.cookies[COOKIE]
    assert after_code != before
    planted = client(app)  # a token seen or planted before the step opens nothing
    planted.cookies.set(COOKIE, before)
    assert planted.get("/password").status_code == 303 and planted.get("/gateway/me").status_code == 401
    other = client(app, "192.0.2.50")  # another browser of the same person, half logged in
    login_post(other, "张明", acc.password)
    assert password_post(browser, acc.password, "zhangming-2026a").status_code == 303
    assert browser.cookies[COOKIE] != after_code and browser.get("/gateway/me").status_code == 200
    assert other.get("/login/totp").status_code == 303  # ended: back to the login page
    stale = client(app)
    stale.cookies.set(COOKIE, after_code)
    assert stale.get("/gateway/me").status_code == 401


def test_a_taken_session_cannot_guess_the_old_password_fast(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    Clock(monkeypatch)
    acc = ready_account("林静")
    browser = client(app)
    login_post(browser, "林静", acc.password)
    codes = [password_post(browser, f"guess-{n}-123456", "linjing-2026-new").status_code for n in range(5)]
    assert codes == [400, 400, 400, 429, 429]
    assert "尝试次数过多" in password_post(browser, acc.password, "linjing-2026-new").text  # even the right one waits


# CSRF and headers ----------------------------------------------------------------------------------

def test_the_login_forms_need_their_token(app: Starlette) -> None:
    acc = ready_account("林静")
    browser = client(app)
    r = browser.post("/login", data={"name": "林静", "password": acc.password, "next": "/"})
    assert r.status_code == 403 and "页面已过期" in r.text and COOKIE not in browser.cookies
    # A token of another browser's cookie does not do either.
    token = csrf(client(app).get("/login").text)
    browser.get("/login")
    r = browser.post("/login", data={"name": "林静", "password": acc.password, "next": "/", "csrf": token})
    assert r.status_code == 403 and COOKIE not in browser.cookies
    assert login_post(browser, "林静", acc.password).status_code == 303
    zm = ready_account("张明")
    half = client(app)
    login_post(half, "张明", zm.password)
    assert half.post("/login/totp", data={"code": pyotp.TOTP(zm.secret).now()}).status_code == 403


def test_own_pages_carry_the_security_headers(app: Starlette) -> None:
    anon = client(app)
    for path in ("/login", f"/approve/{uuid.uuid4()}", "/office/", "/gateway/health"):
        h = anon.get(path).headers
        assert "default-src 'none'" in h["content-security-policy"] and "frame-ancestors 'none'" in h[
            "content-security-policy"], path
        assert (h["x-frame-options"], h["x-content-type-options"], h["referrer-policy"]) == (
            "DENY", "nosniff", "same-origin"), path
    # What is forwarded to Prefect keeps its own scripts: framing and referrer rules only.
    h = anon.get("/api/flow_runs/x").headers
    assert h["content-security-policy"] == "frame-ancestors 'none'" and h["x-frame-options"] == "DENY"


# Proxies ------------------------------------------------------------------------------------------

def test_forwarded_addresses_are_believed_from_trusted_proxies_only(app: Starlette, monkeypatch: pytest.MonkeyPatch
                                                                    ) -> None:
    Clock(monkeypatch)
    front = client(app, "10.0.0.5")  # the HTTPS front: each browser behind it is its own source
    for n in range(5):
        r = login_post(front, f"路人{n}", "guess-123456", **{"x-forwarded-for": f"198.51.100.{n}"})
        assert r.status_code == 401
    # Anyone else's X-Forwarded-For is ignored: one source, whatever it claims.
    stranger = client(app, "192.0.2.33")
    codes = [login_post(stranger, f"路人{n}", "guess-123456", **{"x-forwarded-for": f"198.51.100.{n + 50}"}).status_code
             for n in range(4)]
    assert codes == [401, 401, 401, 429]
    # One browser behind the front is one source, however many share the front.
    codes = [login_post(front, f"路人乙{n}", "guess-123456", **{"x-forwarded-for": "198.51.100.7"}).status_code
             for n in range(4)]
    assert codes == [401, 401, 401, 429]


def test_the_public_page_counts_the_forwarded_address(cli_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from deployments.public.app import create_app as public_app

    monkeypatch.setenv("XUNCHA_TRUSTED_PROXIES", '["10.0.0.5"]')
    monkeypatch.setenv("XUNCHA_PUBLIC_WRONG_CODES_PER_IP", "2")
    get_settings.cache_clear()
    page = public_app()

    def ask(peer: str, forwarded: str) -> int:
        c = TestClient(page, base_url="http://127.0.0.1:4300", client=(peer, 1))
        token = csrf_public(c.get("/query").text)
        return c.post("/query", data={"code": "AAAA-BBBB-CCCC-DDDD", "csrf": token},
                      headers={"x-forwarded-for": forwarded}).status_code

    assert [ask("10.0.0.5", "198.51.100.1") for _ in range(3)] == [404, 404, 429]
    assert ask("10.0.0.5", "198.51.100.2") == 404  # another reporter behind the same front
    assert [ask("192.0.2.1", f"198.51.100.{n}") for n in range(3)] == [404, 404, 429]  # not believed
    get_settings.cache_clear()


def csrf_public(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m is not None
    return m.group(1)


# The phone page -----------------------------------------------------------------------------------

@pytest.fixture
def gate(app: Starlette) -> tuple[str, int, str]:
    """A plan gate waiting for the leading group: its run id, approval id and live code."""
    run_id = str(uuid.uuid4())
    with session_scope() as s:
        rnd, _ = make_round(s)
        approval = open_gate(session=s, settings=get_settings(), round_id=rnd.id, inspection_id=None, gate=Gate.PLAN,
                             attempt=1, flow_run_id=run_id, now=clock_now())
        alert = s.exec(select(Alert).where(Alert.dedupe_key == f"gate:{approval.id}:ask")).first()
        assert alert is not None and approval.id is not None
        code = re.search(r"验证码：(\d{6})", message_text(get_settings(), alert)).group(1)  # type: ignore[union-attr]
        return run_id, approval.id, code


def test_the_phone_page_tells_no_names_and_no_roles(app: Starlette, gate: tuple[str, int, str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    run_id, _, code = gate
    answers = []
    for n, who in enumerate(("路人甲", "刘洋", "陶文华", "张明")):  # unknown; a team member; the office; the approver
        clock.advance(minutes=20)  # past the gate's waits
        answers.append(client(app, f"192.0.2.{n}").post(f"/approve/{run_id}", data={
            "approver": who, "code": code if who != "张明" else f"{(int(code) + 1) % 10**6:06d}"}))
    for r in answers:
        assert (r.status_code, alert_text(r)) == (403, phone.WRONG)
        assert "巡察组组员" not in r.text and "巡察办" not in r.text and "<option" not in r.text


def test_the_phone_page_waits_per_client_and_per_gate_and_sends_one_new_code_an_hour(
        app: Starlette, gate: tuple[str, int, str], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    run_id, approval_id, code = gate
    guesser = client(app)
    wrong = [f"{(int(code) + k) % 10**6:06d}" for k in range(1, 40)]
    statuses = [guesser.post(f"/approve/{run_id}", data={"approver": "张明", "code": wrong[k]}).status_code
                for k in range(16)]  # sixteen in ten seconds, as the attacker did
    assert statuses == [403] * 3 + [429] * 13
    # Other clients on the same gate wait too: the gate's own limit.
    assert client(app, "192.0.2.200").post(f"/approve/{run_id}", data={"approver": "张明", "code": code}).status_code == 429
    # Guessing on through the waits for a day: codes are voided, but one new-code alert an hour at most.
    k, tried, end = 3, 3, clock.at + timedelta(hours=24)
    while clock.at < end:
        r = client(app, f"198.51.100.{k % 250}").post(f"/approve/{run_id}",
                                                      data={"approver": "张明", "code": wrong[k % 39]})
        k += 1
        if r.status_code == 429:
            clock.advance(seconds=wait_of(r))
        else:
            tried += 1
    with session_scope() as s:
        renewals = s.exec(select(Alert.created_at).where(col(Alert.dedupe_key).startswith(f"gate:{approval_id}:code:"))
                          ).all()
        issued = s.get(Approval, approval_id).codes_issued  # type: ignore[union-attr]
    times = sorted(set(renewals))
    assert 1 <= issued - 1 == len(times) <= 24 + 1
    assert all(b - a >= timedelta(hours=1) for a, b in zip(times, times[1:], strict=False))
    assert tried < 24 * 12  # a handful of tries an hour, not one a second


def test_a_valid_code_shows_the_matter_and_the_decision_form(app: Starlette, gate: tuple[str, int, str]) -> None:
    run_id, _, code = gate
    leader = client(app)
    assert "<option" not in leader.get(f"/approve/{run_id}").text
    shown = leader.post(f"/approve/{run_id}", data={"approver": "张明", "code": code})
    assert shown.status_code == 200 and 'aria-label="审批事项"' in shown.text and '<option value="批准"' in shown.text
    missing = leader.post(f"/approve/{run_id}", data={"approver": "张明", "code": code, "decision": "退回修改"})
    assert missing.status_code == 400 and "必须填写意见" in missing.text and 'aria-label="审批事项"' in missing.text

