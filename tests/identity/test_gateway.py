"""The gateway over HTTP, in-process (Starlette's test client): nothing of Prefect without a
session, the login steps in order, and the kinds of call the door tells apart. What is
forwarded to a real Prefect server is in tests/e2e/test_gateway_stack.py and tests/e2e/test_browser.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from starlette.testclient import TestClient

from deployments.gateway import app as gateway_app
from deployments.gateway.app import COOKIE, create_app
from deployments.gateway.policy import Kind, classify, socket_allowed
from deployments.ops.stack import free_port
from models.clock import now as clock_now
from models.db import session_scope
from tasks.identity.accounts import reset_password
from tasks.identity.credentials import credential_of, find_account
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.gateway import ORIGIN, csrf, login_post, password_post, totp_post


def prefect_routes() -> list[tuple[str, str]]:
    """Every route of Prefect's API app (HTTP from its OpenAPI schema, websockets from its
    routers), with sample values in the path parameters."""
    from prefect.server.api.server import create_api_app

    app = create_api_app()
    sample = str(uuid.uuid4())
    routes = []
    for path, ops in app.openapi()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", lambda m: sample if m.group(0) in ("{id}",) or "id" in m.group(0) else "x", path)
        routes += [(m.upper(), concrete) for m in ops]
    return routes


WS_ROUTES = ["/events/in", "/events/out", "/logs/out", "/task_runs/subscriptions/scheduled",
             "/work_pools/xuncha-process/workers/connect"]


@pytest.fixture
def gateway(cli_home: Path) -> Iterator[TestClient]:
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    # Nothing listens upstream: a request that got through would answer 502, not 401.
    app = create_app(upstream=f"http://127.0.0.1:{free_port()}")
    with TestClient(app, base_url=ORIGIN, follow_redirects=False) as client:
        yield client


def initial_password(name: str) -> str:
    with session_scope() as s:
        office = find_account(s, "陶文华")
        assert office is not None
        return reset_password(session=s, by=office, name=name, now=clock_now()).password


def test_every_prefect_route_is_refused_without_a_session(gateway: TestClient) -> None:
    routes = prefect_routes()
    assert len(routes) > 150  # the whole API, not a sample
    for method, path in routes:
        r = gateway.request(method, "/api" + path, json={} if method in ("POST", "PUT", "PATCH") else None)
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.json()["detail"] == "请先登录"
    # The UI's pages send the browser to the login page.
    for page in ("/", "/runs", "/deployments", f"/runs/flow-run/{uuid.uuid4()}"):
        r = gateway.get(page, headers={"accept": "text/html"})
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert gateway.get("/ui-settings").status_code == 401
    assert gateway.get("/assets/index.js").status_code == 401
    # Websockets are closed before they are accepted.
    from starlette.websockets import WebSocketDisconnect

    for path in WS_ROUTES:
        with pytest.raises(WebSocketDisconnect) as closed, gateway.websocket_connect("/api" + path):
            pass
        assert closed.value.code == 4403


def test_a_forged_or_stale_cookie_opens_nothing(gateway: TestClient) -> None:
    gateway.cookies.set(COOKIE, "forged-token")
    assert gateway.post("/api/flow_runs/filter", json={}).status_code == 401
    assert gateway.get("/gateway/me").status_code == 401


def _login(client: TestClient, name: str, password: str, **headers: str) -> Any:
    return login_post(client, name, password, "/runs", **headers)


def test_first_login_changes_the_password_then_the_door_opens(gateway: TestClient) -> None:
    pw = initial_password("林静")
    r = _login(gateway, "林静", pw)
    assert r.status_code == 303 and r.headers["location"] == "/password"
    # Half logged in: the API is still closed.
    assert gateway.post("/api/flow_runs/filter", json={}).status_code == 401
    assert gateway.get("/runs", headers={"accept": "text/html"}).headers["location"] == "/password"
    page = gateway.get("/password")
    assert "首次登录" in page.text
    bad = password_post(gateway, pw, "short1")
    assert bad.status_code == 400 and "至少10位" in bad.text
    r = password_post(gateway, pw, "linjing-2026-new")
    assert r.status_code == 303 and r.headers["location"] == "/runs"
    assert gateway.get("/gateway/me").json() == {"name": "林静", "role": "巡察组组员"}
    # Forwarded now (nothing listens upstream in this test: the proxy says 502).
    assert gateway.post("/api/flow_runs/filter", json={}).status_code == 502
    # Logging out ends it for good.
    assert gateway.post("/logout").status_code == 303
    assert gateway.post("/api/flow_runs/filter", json={}).status_code == 401


def test_office_and_leaders_need_the_second_factor(gateway: TestClient) -> None:
    pw = initial_password("张明")
    r = _login(gateway, "张明", pw)
    assert r.headers["location"] == "/login/totp"
    page = gateway.get("/login/totp").text
    assert "绑定动态口令" in page and "绑定后不再显示" in page
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")  # type: ignore[union-attr]
    assert f"secret={secret}" in re.search(r'id="totp-uri">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    r = gateway.post("/login/totp", data={"code": pyotp.TOTP(secret).now(), "csrf": csrf(page)})
    assert r.headers["location"] == "/password"  # then the initial password is changed
    password_post(gateway, pw, "zhangming-2026")
    assert gateway.get("/gateway/me").status_code == 200
    gateway.post("/logout")
    # The next login asks for a code and no longer shows the secret.
    r = _login(gateway, "张明", "zhangming-2026")
    assert r.headers["location"] == "/login/totp"
    page = gateway.get("/login/totp").text
    assert secret not in page and "绑定" not in page
    wrong = totp_post(gateway, "12345x")
    assert wrong.status_code == 401 and "动态口令不正确" in wrong.text
    assert gateway.get("/gateway/me").status_code == 401


def test_wrong_passwords_lock_the_account(gateway: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten failures lock (the waits between them passed by the clock), and only the right password
    is told so; each wrong one reads like an unknown name's."""
    pw = initial_password("刘洋")
    texts = [_login(gateway, "刘洋", "not-the-password-1").text for _ in range(3)]
    clock = clock_now()
    for _ in range(7):
        clock += timedelta(minutes=16)  # longer than any wait (15 minutes at most)
        monkeypatch.setattr(gateway_app, "now", lambda at=clock: at)
        texts.append(_login(gateway, "刘洋", "not-the-password-1").text)
    assert all("姓名或密码不正确" in t and "锁定" not in t for t in texts)
    monkeypatch.setattr(gateway_app, "now", lambda: clock + timedelta(minutes=2))  # past the wait, inside the lock
    assert "账户已锁定（连续10次登录失败）" in _login(gateway, "刘洋", pw).text


def test_an_idle_session_is_sent_back_to_login(gateway: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    pw = initial_password("黄磊")
    _login(gateway, "黄磊", pw)
    password_post(gateway, pw, "huanglei-2026")
    assert gateway.get("/gateway/me").status_code == 200
    later = clock_now() + timedelta(minutes=31)
    monkeypatch.setattr(gateway_app, "now", lambda: later)
    r = gateway.get("/runs", headers={"accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?reason=idle&next=")
    assert "长时间未操作" in gateway.get(r.headers["location"]).text


def test_an_idle_session_still_says_idle_after_the_ui_polled_first(gateway: TestClient,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The UI's polling is the first request after the idle time: it ends the session (written to
    the database); the person's next page still says the session ended for idleness, and a
    logout still reads as a logout."""
    pw = initial_password("黄磊")
    _login(gateway, "黄磊", pw)
    password_post(gateway, pw, "huanglei-2026")
    later = clock_now() + timedelta(minutes=31)
    monkeypatch.setattr(gateway_app, "now", lambda: later)
    polled = gateway.post("/api/flow_runs/filter", json={})
    assert polled.status_code == 401 and polled.json()["reason"] == "idle"
    for _ in range(2):
        r = gateway.get("/runs", headers={"accept": "text/html"})
        assert r.status_code == 303 and r.headers["location"].startswith("/login?reason=idle&next="), r.headers
    assert gateway.get("/gateway/me").json()["detail"] == "长时间未操作，会话已超时，请重新登录"
    monkeypatch.undo()
    _login(gateway, "黄磊", "huanglei-2026")
    assert gateway.get("/gateway/me").status_code == 200
    token = gateway.cookies["xuncha_session"]
    assert gateway.post("/logout").status_code == 303
    gateway.cookies.set("xuncha_session", token)
    assert gateway.get("/gateway/me").json()["detail"] == "已退出登录"


def test_an_oversized_form_is_refused_not_cut(gateway: TestClient) -> None:
    """A form over the limit is refused whole: not cut and read (the attempt counts no failure)."""
    initial_password("刘洋")
    r = gateway.post("/login", data={"name": "刘洋", "password": "x" * 20_000})
    assert r.status_code == 413 and "提交的内容过长" in r.json()["detail"]
    with session_scope() as s:
        cred = credential_of(s, find_account(s, "刘洋"))  # type: ignore[arg-type]
        assert cred is not None and cred.failures == 0  # not counted


def test_cross_site_posts_are_refused(gateway: TestClient) -> None:
    r = gateway.post("/login", data={"name": "林静", "password": "x"}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    assert "跨站" in r.json()["detail"]


def test_next_is_a_path_on_this_site(gateway: TestClient) -> None:
    page = gateway.get("/login?next=//evil.example/x").text
    assert 'name="next" value="/"' in page


@pytest.mark.parametrize(("method", "path", "kind"), [
    ("GET", "/flow_runs/x", Kind.READ),
    ("POST", "/flow_runs/filter", Kind.READ),
    ("POST", "/deployments/paginate", Kind.READ),
    ("POST", "/ui/schemas/validate", Kind.READ),
    ("POST", "/events/count-by/day", Kind.READ),
    ("POST", f"/deployments/{uuid.UUID(int=1)}/create_flow_run", Kind.START),
    ("POST", f"/flow_runs/{uuid.UUID(int=1)}/resume", Kind.ANSWER),
    ("POST", f"/flow_runs/{uuid.UUID(int=1)}/set_state", Kind.RUN_STATE),
    ("DELETE", f"/flow_runs/{uuid.UUID(int=1)}", Kind.DELETE_RUN),
    ("POST", "/flow_runs/bulk_delete", Kind.DELETE_RUN),
    ("POST", f"/flow_runs/{uuid.UUID(int=1)}/input", Kind.WORKER),
    ("POST", "/flow_runs/", Kind.WORKER),
    ("POST", "/logs/", Kind.WORKER),
    ("POST", "/work_pools/xuncha-process/get_scheduled_flow_runs", Kind.WORKER),
    ("PATCH", f"/deployments/{uuid.UUID(int=1)}", Kind.ADMIN),
    ("POST", "/variables/", Kind.ADMIN),
    ("DELETE", f"/deployments/{uuid.UUID(int=1)}", Kind.ADMIN),
    ("POST", "/automations/", Kind.ADMIN),
    ("POST", "/flow_runs/bulk_set_state", Kind.ADMIN),
])
def test_calls_are_told_apart(method: str, path: str, kind: Kind) -> None:
    assert classify(method, path).kind is kind


def test_every_writing_route_is_checked() -> None:
    """No route of Prefect's that changes something is taken for a read."""
    for method, path in prefect_routes():
        kind = classify(method, path).kind
        if method in ("GET", "HEAD"):
            assert kind is Kind.READ
        elif kind is Kind.READ:
            assert method == "POST" and re.search(r"(filter|count|paginate|history|lateness|validate|next-runs|"
                                                  r"count-deployments|count-task-runs|counts|concurrency_status|"
                                                  r"count-by/x)$", path), (method, path)
    assert socket_allowed("/events/out") and socket_allowed("/logs/out")
    assert not any(socket_allowed(p) for p in ("/events/in", "/task_runs/subscriptions/scheduled",
                                               "/work_pools/x/workers/connect"))


def test_a_leader_answers_from_a_phone_with_the_code(gateway: TestClient) -> None:
    """No login: the approver's name and the live code decide whether the answer goes on."""
    from sqlmodel import select

    from models.enums import Gate
    from models.settings import get_settings
    from models.tables import Alert, InspectionRound
    from tasks.identity import phone
    from tasks.infra.alerts import message_text
    from tasks.lifecycle.approvals import open_gate
    from tests.support.factories import make_round

    run_id = str(uuid.uuid4())
    with session_scope() as s:
        rnd, insps = make_round(s)
        round_id, inspection_id = rnd.id, insps[0].id
        approval = open_gate(session=s, settings=get_settings(), round_id=round_id, inspection_id=None, gate=Gate.PLAN,
                             attempt=1, flow_run_id=run_id, now=clock_now())
        alert = s.exec(select(Alert).where(Alert.dedupe_key == f"gate:{approval.id}:ask")).first()
        # The stored body holds a slot; the code is filled in as the receiver reads it (tasks/infra/alerts.py).
        body = message_text(get_settings(), alert) if alert is not None else None
    assert body is not None and f"/approve/{run_id}" in body  # the alert carries the phone link
    code = re.search(r"验证码：(\d{6})", body).group(1)  # type: ignore[union-attr]
    page = gateway.get(f"/approve/{run_id}")
    # Before a valid code: the gate's name, nothing of the round or of the decision.
    assert "方案及组成人员审批" in page.text and "<option" not in page.text
    with session_scope() as s:
        round_name = s.get(InspectionRound, round_id).name  # type: ignore[union-attr]
    assert round_name not in page.text and 'aria-label="审批事项"' not in page.text
    wrong = gateway.post(f"/approve/{run_id}", data={"approver": "张明", "code": f"{(int(code) + 1) % 10**6:06d}"})
    assert wrong.status_code == 403 and phone.WRONG in wrong.text and round_name not in wrong.text
    other = gateway.post(f"/approve/{run_id}", data={"decision": "批准", "approver": "刘洋", "code": code})
    assert other.status_code == 403 and phone.WRONG in other.text and "无权办理" not in other.text
    # Right name and code: what is decided, then the decision form.
    shown = gateway.post(f"/approve/{run_id}", data={"approver": "张明", "code": code})
    assert shown.status_code == 200 and round_name in shown.text and '<option value="批准"' in shown.text
    # A comment with a bidirectional override is refused before anything is passed on (the matter stays shown).
    bidi = gateway.post(f"/approve/{run_id}", data={"decision": "批准", "approver": "张明", "code": code,
                                                    "comment": "同意\u202e意同"})
    assert bidi.status_code == 400 and "“意见”不能包含控制字符或不可见字符（第3个字符，U+202E）" in bidi.text
    # The decision: passed on to Prefect (nothing listens upstream in this test).
    right = gateway.post(f"/approve/{run_id}", data={"decision": "批准", "approver": "张明", "code": code})
    assert right.status_code == 503 and "暂时不能接收" in right.text
    # Gates of other roles are answered after logging in only.
    with session_scope() as s:
        other_run = str(uuid.uuid4())
        open_gate(session=s, settings=get_settings(), round_id=round_id, inspection_id=inspection_id, gate=Gate.CLOSE_OUT,
                  attempt=1, flow_run_id=other_run, now=clock_now())
    assert "请登录后在流程页面办理" in gateway.get(f"/approve/{other_run}").text


def test_a_gate_answer_with_control_characters_is_refused_before_it_is_forwarded(gateway: TestClient) -> None:
    """Answering in the Prefect UI: a comment holding a control or bidi-override character is
    refused at the door in Chinese (400), before a receipt is written or Prefect is asked."""
    from sqlmodel import select

    from models.enums import Gate
    from models.settings import get_settings
    from models.tables import GateReceipt
    from tasks.lifecycle.approvals import open_gate
    from tests.support.factories import make_round
    from tests.support.gateway import logged_in

    run_id = str(uuid.uuid4())
    with session_scope() as s:
        rnd, _ = make_round(s)
        open_gate(session=s, settings=get_settings(), round_id=rnd.id, inspection_id=None, gate=Gate.PLAN,
                  attempt=1, flow_run_id=run_id, now=clock_now())
    leader = logged_in(gateway.app, "张明")  # type: ignore[arg-type]
    for bad in ("\u202e", "\u2066", "\x00"):
        r = leader.post(f"/api/flow_runs/{run_id}/resume",
                        json={"run_input": {"decision": "批准", "approver": "", "code": "", "comment": f"同意{bad}"}})
        assert r.status_code == 400 and f"U+{ord(bad):04X}" in r.json()["detail"], r.text
    with session_scope() as s:
        assert s.exec(select(GateReceipt)).first() is None
