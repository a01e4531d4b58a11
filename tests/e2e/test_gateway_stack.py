"""The gateway in the real stack, over HTTP as a browser or an attacker would talk to it: the
Prefect server is reachable on loopback only, nothing of its API answers without a login, and
after logging in each person can do what the role table allows and no more. The approval
recorded is the logged-in person, whatever name is typed."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from models.db import session_scope
from models.enums import ApprovalStatus, Gate
from models.tables import Approval, AuditEvent, GateReceipt, InspectionRound
from tests.identity.test_gateway import WS_ROUTES, prefect_routes
from tests.support.driver import (
    http_login,
    read,
    ready_account,
    retire_round,
    units_working,
    wait_for,
    waiting_approval,
)

pytestmark = pytest.mark.stack


def listening(port: int) -> set[str]:
    """The local addresses of TCP sockets listening on `port` (from /proc: no traffic sent)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:  # 0A: LISTEN
                if width == 8:
                    found.add(".".join(str(int(addr[i:i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.add("v6:" + addr)
    return found


def test_prefect_listens_on_loopback_only(stack: Any) -> None:
    assert listening(stack.server_port) == {"127.0.0.1"}
    assert listening(stack.port) == {"127.0.0.1"}  # the gateway too, by default (XUNCHA_GATEWAY_HOST)


def test_no_prefect_route_answers_without_a_login(stack: Any) -> None:
    import httpx

    with httpx.Client(base_url=stack.ui_url, follow_redirects=False, timeout=30) as client:
        for method, path in prefect_routes():
            r = client.request(method, "/api" + path, json={} if method in ("POST", "PUT", "PATCH") else None)
            assert r.status_code == 401, (method, path, r.status_code)
        r = client.get("/", headers={"accept": "text/html"})
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        login = client.get(r.headers["location"])
        assert "请使用本人账户登录" in login.text and 'lang="zh-CN"' in login.text
        # The server itself answers directly on loopback (the workers' way in).
        assert httpx.get(f"{stack.api_url}/health").status_code == 200
    from httpx_ws import WebSocketUpgradeError, connect_ws

    for path in WS_ROUTES:
        with httpx.Client() as c, pytest.raises((WebSocketUpgradeError, Exception)):
            with connect_ws(f"{stack.ui_url}/api{path}", c):
                pass


def _deployment_id(client: Any, name: str) -> str:
    r = client.get(f"/api/deployments/name/{name}")
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def _round_params(name: str) -> dict[str, Any]:
    """The demo county's round (what `up` starts), under another name."""
    from deployments.cli.main import demo_round_params

    return {**demo_round_params(), "name": name}


def test_roles_at_the_door_and_the_approver_is_the_person_logged_in(stack: Any) -> None:
    member = http_login(stack.ui_url, ready_account("刘洋"))  # 巡察组组员
    office = http_login(stack.ui_url, ready_account("陶文华"))  # 巡察办 (second factor)
    leader = http_login(stack.ui_url, ready_account("张明"))  # 领导小组 (second factor)
    round_name = f"网关测试轮次-{secrets.token_hex(3)}"
    dep = _deployment_id(office, "巡察轮次/发起巡察")  # a member reads only the deployments it may run
    body = {"parameters": {"params": _round_params(round_name)}}

    r = member.post(f"/api/deployments/{dep}/create_flow_run", json=body)
    assert r.status_code == 403
    assert r.json()["detail"] == "“巡察组组员”无权运行部署“发起巡察”（发起巡察，仅限：巡察办）"
    r = member.post("/api/variables/", json={"name": "x", "value": "1"})
    assert r.status_code == 403 and "仅限：巡察办" in r.json()["detail"]
    r = office.post("/api/flow_runs/", json={"flow_id": dep, "name": "x"})
    assert r.status_code == 403 and "执行器" in r.json()["detail"]

    r = office.post(f"/api/deployments/{dep}/create_flow_run", json=body)
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    try:
        wait_for(run_id, paused=True, timeout=300)
        gate = waiting_approval(run_id)
        assert gate.gate is Gate.PLAN
        answer = {"run_input": {"decision": "批准", "approver": "陶文华", "code": "", "comment": ""}}
        r = member.post(f"/api/flow_runs/{run_id}/resume", json=answer)
        assert r.status_code == 403
        assert r.json()["detail"] == "“巡察组组员”无权办理“方案及组成人员审批”，应由巡察工作领导小组办理"
        r = office.post(f"/api/flow_runs/{run_id}/resume", json=answer)
        assert r.status_code == 403 and "应由巡察工作领导小组办理" in r.json()["detail"]
        r = member.post(f"/api/flow_runs/{run_id}/set_state", json={"state": {"type": "CANCELLING"}})
        assert r.status_code == 403 and "取消流程运行" in r.json()["detail"]
        assert read(run_id).state.is_paused()  # type: ignore[union-attr]

        # 张明 answers with someone else's name typed and no code: the login decides.
        for _ in range(120):  # the form's schema is stored a moment after the run pauses
            r = leader.post(f"/api/flow_runs/{run_id}/resume", json=answer)
            assert r.status_code in (200, 201), r.text
            if r.json()["status"] == "ACCEPT":
                break
            time.sleep(0.5)
        assert r.json()["status"] == "ACCEPT", r.text
        units_working(run_id, timeout=300)  # past the plan the round run waits for its units
        with session_scope() as s:
            rnd = s.exec(select(InspectionRound).where(InspectionRound.name == round_name)).one()
            plan = s.exec(select(Approval).where(Approval.round_id == rnd.id, Approval.gate == Gate.PLAN)).one()
            assert (plan.status, plan.decision, plan.approver) == (ApprovalStatus.DECIDED, "批准", "张明")
            (receipt,) = s.exec(select(GateReceipt).where(GateReceipt.approval_id == plan.id)).all()
            assert (receipt.person, receipt.flow_run_id) == ("张明", run_id)
            decided = s.exec(select(AuditEvent).where(AuditEvent.action == "审批决定",
                                                      AuditEvent.entity_id == plan.id)).one()
            assert decided.actor == "张明" and decided.detail["via"] == "登录"
            refusals = s.exec(select(AuditEvent.actor).where(AuditEvent.action == "界面操作（被拒绝）")).all()
            assert {"刘洋", "陶文华"} <= set(refusals)
            started = s.exec(select(AuditEvent).where(AuditEvent.action == "运行部署", AuditEvent.actor == "陶文华")).all()
            assert any(e.detail.get("deployment") == "发起巡察" for e in started)
    finally:
        retire_round(round_name)
        for c in (member, office, leader):
            c.close()


def test_a_leader_answers_from_the_alerts_phone_link_with_the_code(stack: Any) -> None:
    """The one-time-code path that stays: no login, the link in the alert, name and code."""
    import httpx
    from prefect.deployments import run_deployment

    from tasks.identity import phone as phone_wrong
    from tests.support.driver import live_code

    round_name = f"手机审批测试-{secrets.token_hex(3)}"
    run = run_deployment("巡察轮次/发起巡察", parameters={"params": _round_params(round_name)}, timeout=0)
    try:
        wait_for(run.id, paused=True, timeout=300)
        gate = waiting_approval(run.id)
        code = live_code(gate.id)
        with session_scope() as s:
            from models.tables import Alert

            body = s.exec(select(Alert.body).where(Alert.dedupe_key == f"gate:{gate.id}:ask")).first()
        assert body is not None and f"{stack.ui_url}/approve/{run.id}" in body
        with httpx.Client(base_url=stack.ui_url, timeout=60) as phone:
            page = phone.get(f"/approve/{run.id}")
            # The gate's name only, before a valid code: not the round, not the decision.
            assert page.status_code == 200 and "方案及组成人员审批" in page.text and round_name not in page.text
            wrong = phone.post(f"/approve/{run.id}", data={"decision": "批准", "approver": "张明", "code": "000000"
                                                          if code != "000000" else "111111"})
            assert wrong.status_code == 403 and phone_wrong.WRONG in wrong.text and round_name not in wrong.text
            stranger = phone.post(f"/approve/{run.id}", data={"approver": "刘洋", "code": code})
            assert stranger.status_code == 403 and phone_wrong.WRONG in stranger.text and "巡察组" not in stranger.text
            shown = phone.post(f"/approve/{run.id}", data={"approver": "张明", "code": code})
            assert shown.status_code == 200 and round_name in shown.text and '<option value="批准"' in shown.text
            assert read(run.id).state.is_paused()  # type: ignore[union-attr]
            done = phone.post(f"/approve/{run.id}", data={"decision": "批准", "approver": "张明", "code": code})
            assert done.status_code == 200 and "已提交：批准" in done.text, done.text
            # Nothing of Prefect opens for this client: it never logged in.
            assert phone.post("/api/flow_runs/filter", json={}).status_code == 401
        units_working(run.id, timeout=300)  # past the plan the round run waits for its units
        with session_scope() as s:
            plan = s.get(Approval, gate.id)
            assert plan is not None and (plan.decision, plan.approver) == ("批准", "张明")
            decided = s.exec(select(AuditEvent).where(AuditEvent.action == "审批决定",
                                                      AuditEvent.entity_id == gate.id)).one()
            assert decided.detail["via"] == "验证码"
    finally:
        retire_round(round_name)


def test_reads_are_scoped_like_writes(stack: Any) -> None:
    """A unit's contact reads nothing of Prefect's; a team member lists the runs of its own round
    and not a run holding another unit's finding; the office lists that run (so the check could fail)."""
    from prefect.deployments import run_deployment

    from deployments.gateway.policy import NO_PLATFORM
    from tests.support.factories import finding

    tag = secrets.token_hex(3)
    round_name, sentinel = f"读取范围测试-{tag}", f"哨兵-别的单位的问题-{tag}"
    run = run_deployment("巡察轮次/发起巡察", parameters={"params": _round_params(round_name)}, timeout=0)
    # Another unit's findings in a run's parameters (the round does not exist: the run fails, its
    # parameters stay in Prefect).
    other = run_deployment("登记问题/登记问题", timeout=0, parameters={"params": {
        "round_name": f"别的轮次-{tag}", "unit_name": "城西街道",
        "findings": [finding(description=sentinel).model_dump(mode="json")]}})
    contact = http_login(stack.ui_url, ready_account("钱正平"))  # 城东街道's contact
    member = http_login(stack.ui_url, ready_account("刘洋"))  # 第二巡察组 in the round's form
    office = http_login(stack.ui_url, ready_account("陶文华"))
    try:
        wait_for(run.id, paused=True, timeout=300)  # the round and its teams are recorded by now
        r = contact.post("/api/flow_runs/filter", json={})
        assert r.status_code == 403 and r.json()["detail"] == NO_PLATFORM.format(role="被巡察单位联络员")
        r = member.post("/api/flow_runs/filter", json={"limit": 200})
        assert r.status_code == 200, r.text
        seen = {x["id"] for x in r.json()}
        assert str(run.id) in seen and str(other.id) not in seen and sentinel not in r.text
        with session_scope() as s:
            from tasks.identity.credentials import find_account
            from tasks.identity.door import run_scope

            account = find_account(s, "刘洋")
            assert account is not None
            mine = run_scope(session=s, account=account)
        assert seen <= set(mine.run_ids) | {x["id"] for x in r.json() if set(x.get("tags") or []) & set(mine.tags)}
        r = member.get(f"/api/flow_runs/{other.id}")
        assert r.status_code == 403 and sentinel not in r.text
        r = member.post("/api/logs/filter", json={"logs": {"flow_run_id": {"any_": [str(other.id)]}}})
        assert r.status_code == 403
        r = office.post("/api/flow_runs/filter", json={"flow_runs": {"id": {"any_": [str(other.id)]}}})
        assert r.status_code == 200 and sentinel in r.text
    finally:
        retire_round(round_name)
        for c in (contact, member, office):
            c.close()


# Against an attacker ----------------------------------------------------------------------------

def _login_as(client: Any, name: str, password: str, source: str) -> Any:
    from tests.support.gateway import login_post

    return login_post(client, name, password, **{"x-forwarded-for": source})


def _alert(r: Any) -> str:
    import re

    m = re.search(r'role="alert">([^<]*)<', r.text)
    return m.group(1) if m else ""


def test_guessing_waits_per_source_and_name_and_a_lock_tells_the_office(stack: Any, inbox: Any) -> None:
    """Behind the HTTPS front (the stack believes 127.0.0.1's X-Forwarded-For): an unknown name and
    a wrong password read alike; one source waits after three failures whatever names it tries,
    another source does not; one name waits whatever the source; the lock comes after the waits and
    the office's receiver hears of it; only the right password is told of the lock."""
    import httpx

    from models.tables import Alert

    who = ready_account("高峰")  # no other test logs in as 高峰 (its name's waits stay an hour)
    tag = secrets.randbelow(200) + 20
    try:
        with httpx.Client(base_url=stack.ui_url, follow_redirects=False, timeout=60) as c:
            unknown = _login_as(c, "路人甲", "guess-123456", f"198.18.{tag}.1")
            wrong = _login_as(c, who.name, "guess-123456", f"198.18.{tag}.2")
            assert (unknown.status_code, _alert(unknown)) == (wrong.status_code, _alert(wrong)) == (401, "姓名或密码不正确")
            # (the wait after the third is 1 s in the stack: a loaded machine may let one more through)
            spray = [_login_as(c, f"路人{n}", "guess-123456", f"198.18.{tag}.3").status_code for n in range(6)]
            assert spray[:3] == [401, 401, 401] and 429 in spray[3:], spray
            n, started = 1, time.monotonic()  # one failure of 高峰 so far
            while n < 5:
                r = _login_as(c, who.name, "guess-123456", f"198.18.{tag}.{10 + n}")
                if r.status_code == 429:
                    time.sleep(int(_alert(r).split("请")[1].split("秒")[0]))
                    continue
                assert _alert(r) == "姓名或密码不正确"
                n += 1
            assert time.monotonic() - started >= 3  # waits of 1 s and 2 s before the fourth and fifth
            time.sleep(5)  # past the name's last wait, well inside the 30-minute lock
            locked = _login_as(c, who.name, who.password, f"198.18.{tag}.99")
            assert "账户已锁定（连续5次登录失败）" in _alert(locked)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any("账户“高峰”连续5次登录失败" in m.get("message", "")
                                                      for m in inbox.messages):
            time.sleep(1)
        assert any("账户“高峰”连续5次登录失败" in m.get("message", "") for m in inbox.messages)
        with session_scope() as s:
            assert s.exec(select(Alert).where(Alert.role == "office", Alert.title == "【账户锁定】高峰")).first()
    finally:
        ready_account("高峰")


def test_the_phone_page_waits_per_client_and_per_gate_on_the_stack(stack: Any) -> None:
    import httpx
    from prefect.deployments import run_deployment

    from tasks.identity import phone

    round_name = f"手机限速测试-{secrets.token_hex(3)}"
    run = run_deployment("巡察轮次/发起巡察", parameters={"params": _round_params(round_name)}, timeout=0)
    try:
        wait_for(run.id, paused=True, timeout=300)
        with httpx.Client(base_url=stack.ui_url, timeout=60) as c:
            answers = [c.post(f"/approve/{run.id}", data={"approver": "张明", "code": f"{k:06d}"},
                              headers={"x-forwarded-for": "198.18.5.5"}) for k in range(8)]
            statuses = [r.status_code for r in answers]
            assert statuses[:3] == [403, 403, 403] and 429 in statuses[3:], statuses
            assert {_alert(r) for r in answers if r.status_code == 403} == {phone.WRONG}
        gate = waiting_approval(run.id)
        with session_scope() as s:  # the refused ones checked no code
            assert s.get(Approval, gate.id).code_failures == statuses.count(403)  # type: ignore[union-attr]
    finally:
        retire_round(round_name)


def test_headers_and_session_renewal_on_the_stack(stack: Any) -> None:
    """The gateway's pages carry a strict policy; Prefect's UI still loads its own scripts (only
    framing and referrer rules added); the token changes once the second factor is proved."""
    import httpx

    from tests.support.driver import totp_code
    from tests.support.gateway import login_post, totp_post

    with httpx.Client(base_url=stack.ui_url, follow_redirects=False, timeout=60) as c:
        h = c.get("/login").headers
        assert "default-src 'none'" in h["content-security-policy"] and h["x-frame-options"] == "DENY"
        assert h["x-content-type-options"] == "nosniff" and h["referrer-policy"] == "same-origin"
        leader = ready_account("张明")
        assert login_post(c, leader.name, leader.password).headers["location"] == "/login/totp"
        before = c.cookies["xuncha_session"]
        assert totp_post(c, totp_code(leader.name, leader.secret)).status_code == 303
        assert c.cookies["xuncha_session"] != before
        page = c.get("/runs", headers={"accept": "text/html"})
        assert page.status_code == 200 and "<script" in page.text
        assert page.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert page.headers["x-frame-options"] == "DENY"
    with httpx.Client(base_url=stack.ui_url, follow_redirects=False, timeout=60) as stale:
        stale.cookies.set("xuncha_session", before)
        assert stale.get("/gateway/me").status_code == 401
