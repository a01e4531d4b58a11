"""The gateway in the real stack, over HTTP as a browser or an attacker would talk to it: the
Prefect server is reachable on loopback only, nothing of its API answers without a login, and
after logging in each person can do what the role table allows and no more. The approval
recorded is the logged-in person, whatever name is typed. As an attacker (issue 26): guessing
waits and locks, the phone page's limits, headers and session renewal, the office's accounts page,
ids past 64 bits, control and bidi characters on the public page, a billion-laughs workbook."""

from __future__ import annotations

import re
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
            # A comment with a bidirectional override is refused in Chinese; the run still waits, nothing decided.
            bidi = phone.post(f"/approve/{run.id}", data={"decision": "批准", "approver": "张明", "code": code,
                                                          "comment": "同意\u202e意同"})
            assert bidi.status_code == 400 and "“意见”不能包含控制字符或不可见字符（第3个字符，U+202E）" in bidi.text
            assert read(run.id).state.is_paused()  # type: ignore[union-attr]
            with session_scope() as s:
                pending = s.get(Approval, gate.id)
                assert pending is not None and (pending.status, pending.decision) == (ApprovalStatus.PENDING, "")
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


# Accounts a clerk can run, and bad input (issue 26, parts 3 and 4) ----------------------------

def _office_post(client: Any, path: str, **data: str) -> Any:
    from tests.support.gateway import csrf

    token = csrf(client.get("/office/accounts").text)
    return client.post(path, data={"csrf": token, **data}, headers={"Origin": str(client.base_url).rstrip("/")})


def _audit_since(first_id: int, action: str) -> list[tuple[str, dict[str, Any]]]:
    from sqlmodel import col

    with session_scope() as s:
        rows = s.exec(select(AuditEvent).where(col(AuditEvent.id) > first_id, AuditEvent.action == action)
                      .order_by(col(AuditEvent.id))).all()
        return [(e.actor, dict(e.detail or {})) for e in rows]


def _last_audit_id() -> int:
    from sqlmodel import col

    with session_scope() as s:
        return s.exec(select(AuditEvent.id).order_by(col(AuditEvent.id).desc())).first() or 0


def test_the_office_runs_accounts_on_the_stack_and_a_low_role_cannot(stack: Any) -> None:
    """/office/accounts over HTTP: a member is refused (and audited); the office resets 柳青's second
    factor and sets an initial password shown once; 柳青 then binds on a page with a QR code whose
    key stays through a reload and a typo; the office deactivates 赵志强, whose live session ends
    and whose right password then reads like an unknown name; every act is in the audit trail."""
    import httpx
    import pyotp

    from models.tables import Account, Credential
    from tests.support.gateway import login_post, totp_post

    start = _last_audit_id()
    office = http_login(stack.ui_url, ready_account("陶文华"))
    member = http_login(stack.ui_url, ready_account("刘洋"))
    zhao = ready_account("赵志强")  # 巡察组组员 no other stack test logs in as
    target = http_login(stack.ui_url, zhao)
    ready_account("柳青")  # 巡察办: a bound second factor to reset
    tag = secrets.randbelow(200) + 20
    try:
        # A low role: no page, no act, each refusal audited.
        r = member.get("/office/accounts")
        assert r.status_code == 403 and "无权" in r.text and "管理用户" in r.text
        r = _office_post(member, "/office/accounts/active", name="陶文华", active="0")
        assert r.status_code == 403
        refused = [d for who, d in _audit_since(start, "办公页面（被拒绝）") if who == "刘洋"]
        assert len(refused) >= 2 and all("/office/accounts" in str(d) for d in refused)

        page = office.get("/office/accounts")
        assert page.status_code == 200 and "<h1>用户管理</h1>" in page.text
        row = page.text[page.text.index("<td>柳青</td>"):].split("</tr>")[0]
        assert "已绑定" in row and "重置动态口令" in row
        r = _office_post(office, "/office/accounts/second-factor", name="柳青")
        assert r.status_code == 303, r.text
        assert "已重置“柳青”的动态口令，下次登录时重新绑定" in office.get(r.headers["location"]).text
        r = _office_post(office, "/office/accounts/password", name="柳青")
        assert r.status_code == 200 and "只显示这一次" in r.text
        shown = re.search(r'id="initial-password-value">([A-Za-z0-9]{12})<', r.text)
        assert shown is not None
        initial = shown.group(1)
        assert initial not in office.get("/office/accounts").text  # shown once
        with session_scope() as s:
            acc = s.exec(select(Account).where(Account.name == "柳青")).one()
            cred = s.exec(select(Credential).where(Credential.account_id == acc.id)).one()
            assert cred.must_change and cred.totp_enrolled_at is None and initial not in cred.password_hash

        # 柳青 binds the second factor: a QR code (SVG) of the address, the same key throughout.
        source = {"x-forwarded-for": f"198.18.{tag}.61"}
        with httpx.Client(base_url=stack.ui_url, follow_redirects=False, timeout=60) as liu:
            assert login_post(liu, "柳青", initial, **source).headers["location"] == "/login/totp"
            first = liu.get("/login/totp", headers=source).text
            key = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', first)
            qr = re.search(r'<div class="qr" id="totp-qr">(<svg.*?</svg>)</div>', first, re.S)
            assert key is not None and qr is not None and "<path" in qr.group(1)
            secret = key.group(1).replace(" ", "")
            assert f"secret={secret}" in first
            assert f'id="totp-secret">{key.group(1)}<' in liu.get("/login/totp", headers=source).text  # a reload: the same key
            typo = totp_post(liu, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111", **source)
            assert typo.status_code == 401 and f'id="totp-secret">{key.group(1)}<' in typo.text
            assert "密钥没有变" in typo.text
            bound = totp_post(liu, pyotp.TOTP(secret).now(), **source)
            assert bound.status_code == 303 and bound.headers["location"] == "/password"

        # 赵志强 deactivated: the live session ends; the right password reads like an unknown name.
        r = _office_post(office, "/office/accounts/active", name="赵志强", active="0")
        assert r.status_code == 303, r.text
        assert "已停用用户“赵志强”；其已登录的1个会话已失效" in office.get(r.headers["location"]).text
        assert target.get("/gateway/me").status_code == 401
        with httpx.Client(base_url=stack.ui_url, follow_redirects=False, timeout=60) as c:
            gone = _login_as(c, zhao.name, zhao.password, f"198.18.{tag}.62")
            unknown = _login_as(c, "赵志弱", zhao.password, f"198.18.{tag}.63")
        assert (gone.status_code, _alert(gone)) == (unknown.status_code, _alert(unknown)) == (401, "姓名或密码不正确")
        r = _office_post(office, "/office/accounts/active", name="赵志强", active="1")
        assert r.status_code == 303

        assert [(who, d["account"]) for who, d in _audit_since(start, "重置动态口令")] == [("陶文华", "柳青")]
        assert [(who, d["account"]) for who, d in _audit_since(start, "重置密码")] == [("陶文华", "柳青")]
        assert initial not in str(_audit_since(start, "重置密码"))
        assert [(who, d["account"]) for who, d in _audit_since(start, "停用用户")] == [("陶文华", "赵志强")]
        assert [(who, d["account"]) for who, d in _audit_since(start, "启用用户")] == [("陶文华", "赵志强")]
    finally:
        with session_scope() as s:  # 赵志强 active again whatever happened above
            acc = s.exec(select(Account).where(Account.name == "赵志强")).one()
            acc.active = True
            s.add(acc)
        ready_account("柳青")
        ready_account("赵志强")
        for c in (office, member, target):
            c.close()


BIG = "1" * 23  # past 64 bits (SQLite cannot bind it: an OverflowError, once a 500)


def test_hostile_input_on_the_stack_is_refused_in_chinese(stack: Any, tmp_path: Path) -> None:
    """Ids past 64 bits on the office pages answer a Chinese 404; the public page `up` starts
    refuses a right-to-left override and a control character and stores nothing; a billion-laughs
    workbook, ids out of range, a YAML syntax error and an unregistered dossier given to the
    command line against the stack's data are answered in Chinese, the dossier with a failure."""
    import httpx
    from typer.testing import CliRunner

    from deployments.cli.main import app
    from deployments.ops.stack import free_port
    from models.tables import Finding, Petition, PublicReport
    from tests.support.cli import login
    from tests.support.factories import laughing_workbook
    from tests.support.gateway import csrf

    office = http_login(stack.ui_url, ready_account("陶文华"))
    try:
        for path in (f"/office/clues/{BIG}", f"/office/petitions/{BIG}", f"/office/petitions/{2**63}",
                     f"/office/talks/{BIG}"):
            r = office.get(path)
            assert r.status_code == 404 and "不存在" in r.text and "Internal Server Error" not in r.text, (path, r.text)
        token = csrf(office.get("/office/clues/new").text)
        r = office.post(f"/office/clues/{BIG}/transfer", data={"csrf": token}, headers={"Origin": stack.ui_url})
        assert r.status_code == 404 and "不存在" in r.text, r.text
    finally:
        office.close()

    def stored() -> tuple[int, int]:
        from sqlalchemy import func

        with session_scope() as s:
            return (s.exec(select(func.count()).select_from(Petition)).one(),
                    s.exec(select(func.count()).select_from(PublicReport)).one())

    before = stored()
    url = stack.start_public(free_port())
    try:
        with httpx.Client(base_url=url, timeout=60) as public:
            for fields, said in (({"content": "反映某站所长\u202e优亲厚友", "mode": "anonymous"}, "反映的问题"),
                                 ({"content": "反映某站所长优亲厚友", "mode": "named", "name": "王\x1b某",
                                   "contact": "13700000000"}, "姓名")):
                # The report form shows only while a unit is in 集中巡察; an attacker posts without it,
                # with the token any page of the site carries (the query page's).
                form = public.get("/").text
                signed = re.search(r'name="csrf" value="([0-9]+\.[0-9a-f]+)"', form + public.get("/query").text)
                inspection = re.search(r'<option value="(\d+)"', form)
                assert signed is not None
                r = public.post("/report", data={"csrf": signed.group(1), **fields,
                                                 "inspection": inspection.group(1) if inspection else "1"})
                bad = next(ch for ch in "".join(fields.values()) if ch in "\u202e\x1b")
                assert r.status_code == 400, r.text
                assert f"{said}不能包含控制字符或不可见字符" in r.text and f"U+{ord(bad):04X}" in r.text, r.text
    finally:
        stack.kill("public")
    assert stored() == before

    login("陶文华")
    with session_scope() as s:
        findings = len(s.exec(select(Finding.id)).all())
    bomb = laughing_workbook(tmp_path / "问题清单.xlsx")
    result = CliRunner().invoke(app, ["import-findings", str(bomb), "--round", "任一轮次", "--unit", "城东街道"])
    assert result.exit_code == 2 and "不安全的 XML" in result.output and "Traceback" not in result.output, result.output
    with session_scope() as s:
        assert len(s.exec(select(Finding.id)).all()) == findings
    # More of the command line's hostile cases against the stack's data: ids out of range, a YAML
    # syntax error (the line, in Chinese), a self-consistent dossier the database does not know.
    for argv, said in ((["show-petition", "--", "-1"], "不存在"), (["show-petition", BIG], "不存在"),
                       (["show-clue", "9" * 23], "不存在")):
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 2 and said in result.output and "内部错误" not in result.output, (argv, result.output)
    broken = tmp_path / "轮次.yaml"
    broken.write_text("name: 新一轮巡察\nteams: [\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["start-round", str(broken)])
    assert result.exit_code == 2 and "不是有效的 YAML 格式（第" in result.output, result.output
    assert "while parsing" not in result.output and "Traceback" not in result.output
    copy = tmp_path / "副本"
    copy.mkdir()
    (copy / "01-巡察公告.docx").write_bytes(b"not ours")
    from tasks.records.documents import sha256_of

    (copy / "manifest.sha256").write_text(f"{sha256_of(copy / '01-巡察公告.docx')}  01-巡察公告.docx\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["verify-dossier", str(copy)])
    assert result.exit_code == 1 and "案卷未登记" in result.output and "案卷完整" not in result.output, result.output
    result = CliRunner().invoke(app, ["verify-dossier", str(copy), "--files-only"])
    assert result.exit_code == 0 and "案卷完整" in result.output, result.output  # the files themselves are consistent
