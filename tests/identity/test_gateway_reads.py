"""Reads through the gateway, role by role and route by route (deployments/gateway/policy.py
READ_ROUTES, reads.py), in-process against a stand-in for Prefect's server.

The stand-in answers every call it is not taught with everything it holds, and applies the
flow-run, tag and deployment filters the way Prefect's server does; what it holds includes the
findings of 区财政局 (a 登记问题 run) and its rectification plan (报送整改方案), its logs with a
traceback and its artifact, each carrying a sentinel. So a route that lets a read through
unnarrowed shows the sentinel, and the office's row proves the sentinel would show."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from fastapi_proxy_lib.core.http import ReverseHttpProxy
from sqlmodel import select
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from deployments.gateway.app import create_app
from deployments.gateway.policy import NO_PLATFORM, READ_ROUTES, Reach, read_rule
from deployments.ops.stack import free_port
from models.access import uses_platform
from models.db import session_scope
from models.enums import AccessRole, Stage
from models.settings import get_settings
from models.tables import Inspection, InspectionRound
from tasks.identity.door import unit_tag
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.advance import advance
from tests.support.factories import make_round, round_params, team_data
from tests.support.gateway import logged_in

FINDING = "哨兵-财政局问题-7f3a"  # 区财政局's finding, in its 登记问题 run's parameters
MEASURE = "哨兵-财政局整改措施-7f3a"  # 区财政局's measure, in its 报送整改方案 run's parameters
TRACE = "哨兵-Traceback-7f3a"  # a log line of 区财政局's run
SETTING = "哨兵-平台设置-7f3a"  # what every route the stand-in is not taught answers with, too
SENTINELS = (FINDING, MEASURE, TRACE)
ROUND = "2026年第一轮巡察"


def rid() -> str:
    return str(uuid.uuid4())


class Chunks(httpx.AsyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data


def answer(status: int, json: Any) -> httpx.Response:
    """A streamed answer, as the proxy reads one from a real server."""
    import json as js

    data = js.dumps(json, ensure_ascii=False).encode()
    return httpx.Response(status, headers={"content-type": "application/json", "content-length": str(len(data))},
                          stream=Chunks(data))


@dataclass
class Upstream:
    """A stand-in for Prefect's API: runs (with parameters and tags), logs, artifacts, task runs
    and deployments; filters applied as the server applies them. `seen` records each call."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    task_runs: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    seen: list[tuple[str, str, Any]] = field(default_factory=list)

    def everything(self) -> dict[str, Any]:
        return {"runs": self.runs, "logs": self.logs, "artifacts": self.artifacts, "settings": SETTING}

    def narrowed_runs(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        f = body.get("flow_runs") or {}
        ids, tags = (f.get("id") or {}).get("any_"), (f.get("tags") or {}).get("any_")
        deployments = (f.get("deployment_id") or {}).get("any_")
        out = self.runs
        if deployments is not None:
            out = [r for r in out if r.get("deployment_id") in deployments]
        if ids is not None:
            out = [r for r in out if r["id"] in ids]
        if tags is not None:
            out = [r for r in out if set(r["tags"]) & set(tags)]
        return out

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path).removeprefix("/api")
        body = json.loads(request.content or b"{}") if request.method == "POST" else {}
        self.seen.append((request.method, path, body))
        runs = self.narrowed_runs(body) if isinstance(body, dict) else self.runs
        by_id = {r["id"]: r for r in self.runs + self.artifacts + self.task_runs + self.deployments}
        last = path.rstrip("/").split("/")[-1]
        if request.method == "GET" and path.startswith("/flow_runs/"):
            return answer(200, by_id.get(path.split("/")[2], {}))
        if path in ("/flow_runs/filter", "/task_runs/filter", "/artifacts/filter", "/ui/flow_runs/history"):
            ids = {r["id"] for r in runs}
            if path == "/flow_runs/filter" or path == "/ui/flow_runs/history":
                return answer(200, runs)
            rows = self.task_runs if path == "/task_runs/filter" else self.artifacts
            return answer(200, [x for x in rows if x["flow_run_id"] in ids])
        if path == "/flow_runs/count":
            return answer(200, len(runs))
        if path == "/flow_runs/paginate":
            return answer(200, {"results": runs, "count": len(runs)})
        if path == "/logs/filter":
            ids = ((body.get("logs") or {}).get("flow_run_id") or {}).get("any_")
            return answer(200, [x for x in self.logs if ids is None or x["flow_run_id"] in ids])
        if path == "/deployments/filter":
            names = ((body.get("deployments") or {}).get("name") or {}).get("any_")
            return answer(200, [d for d in self.deployments if names is None or d["name"] in names])
        if request.method == "GET" and last in by_id:
            return answer(200, by_id[last])
        if path.endswith("/create_flow_run"):
            return answer(201, {"id": rid(), "tags": body.get("tags")})
        return answer(200, self.everything())  # untaught: all of it


@dataclass
class World:
    app: Any
    upstream: Upstream
    round_run: str
    own_unit_run: str  # 城东街道's unit run (第一巡察组: 李建国, 陈晓梅, 刘洋)
    own_record_run: str  # a 登记问题 run for 城东街道 started through the gateway (tagged)
    other_unit_run: str  # 区财政局's unit run (第二巡察组: 周卫东, 孙丽娟, 黄磊)
    other_record_run: str  # 区财政局's 登记问题 run: FINDING in its parameters
    other_plan_run: str  # 区财政局's 报送整改方案 run: MEASURE in its parameters
    other_task_run: str
    other_artifact: str
    record_deployment: str
    plan_deployment: str
    unit_deployment: str  # the deployment of both unit runs (a run page shows its deployment)


@pytest.fixture
def world(cli_home: Path) -> Iterator[World]:
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    round_run, own_unit_run, other_unit_run = rid(), rid(), rid()
    with session_scope() as s:
        params = round_params(name=ROUND, teams=[
            team_data(units=["城东街道"]),
            team_data(name="第二巡察组", leader="周卫东", deputy="孙丽娟", members=["黄磊"], units=["区财政局"])])
        rnd, (own, other) = make_round(s, params, flow_run_id=round_run)
        for insp, run in ((own, own_unit_run), (other, other_unit_run)):
            row = s.get(Inspection, insp.id)
            assert row is not None
            row.flow_run_id = run
            s.add(row)
        assert s.get(InspectionRound, rnd.id) is not None
    up = Upstream()
    record_dep, plan_dep, unit_dep = rid(), rid(), rid()
    own_record, other_record, other_plan = rid(), rid(), rid()
    chengdong, caizheng = unit_tag(ROUND, "城东街道"), unit_tag(ROUND, "区财政局")
    up.runs = [
        {"id": round_run, "name": ROUND, "tags": [], "parameters": {"params": {"name": ROUND}}},
        {"id": own_unit_run, "name": f"单位巡察·{ROUND}·城东街道", "tags": [], "parameters": {}, "deployment_id": unit_dep},
        {"id": own_record, "name": "登记问题", "tags": [chengdong], "deployment_id": record_dep,
         "parameters": {"params": {"round_name": ROUND, "unit_name": "城东街道", "findings": []}}},
        {"id": other_unit_run, "name": f"单位巡察·{ROUND}·区财政局", "tags": [], "parameters": {}, "deployment_id": unit_dep},
        {"id": other_record, "name": "登记问题", "tags": [caizheng], "deployment_id": record_dep, "parameters": {"params": {
            "round_name": ROUND, "unit_name": "区财政局", "findings": [{"description": FINDING}]}}},
        {"id": other_plan, "name": "报送整改方案", "tags": [caizheng], "deployment_id": plan_dep, "parameters": {"params": {
            "round_name": ROUND, "unit_name": "区财政局", "items": [{"measure": MEASURE, "owner": "某局长"}]}}},
    ]
    up.logs = [{"flow_run_id": other_record, "message": f"{TRACE}: ValueError"},
               {"flow_run_id": own_record, "message": "登记完成"}]
    other_task, other_artifact = rid(), rid()
    up.task_runs = [{"id": other_task, "flow_run_id": other_record, "name": FINDING}]
    up.artifacts = [{"id": other_artifact, "flow_run_id": other_plan, "data": MEASURE}]
    up.deployments = [{"id": record_dep, "name": "登记问题", "parameter_openapi_schema": {}},
                      {"id": unit_dep, "name": "单位巡察", "parameters": {}},
                      {"id": plan_dep, "name": "报送整改方案", "parameters": {"params": {"measure": MEASURE}}}]
    app = create_app(upstream=f"http://127.0.0.1:{free_port()}")
    gw = app.state.gateway
    gw.client = httpx.AsyncClient(transport=httpx.MockTransport(up.handler))
    gw.http = ReverseHttpProxy(gw.client, base_url=gw.upstream + "/")
    yield World(app, up, round_run, own_unit_run, own_record, other_unit_run, other_record, other_plan,
                other_task, other_artifact, record_dep, plan_dep, unit_dep)


def routes(w: World) -> list[tuple[str, str, Any]]:
    """Read routes of every kind the door tells apart, aimed at 区财政局's runs where they take one."""
    return [
        ("POST", "/flow_runs/filter", {}),
        ("POST", "/flow_runs/filter", {"flow_runs": {"id": {"any_": [w.other_record_run, w.other_plan_run]}}}),
        ("POST", "/flow_runs/filter", {"flow_runs": {"operator": "or_", "name": {"like_": "登记"}}}),
        ("POST", "/flow_runs/count", {}),
        ("POST", "/flow_runs/paginate", {}),
        ("POST", "/ui/flow_runs/history", {}),
        ("GET", f"/flow_runs/{w.other_record_run}", None),
        ("GET", f"/flow_runs/{w.other_plan_run}/graph-v2", None),
        ("GET", f"/flow_run_states/?flow_run_id={w.other_record_run}", None),
        ("POST", "/ui/flow_runs/count-task-runs", {"flow_run_ids": [w.other_record_run]}),
        ("POST", "/task_runs/filter", {}),
        ("GET", f"/task_runs/{w.other_task_run}", None),
        ("POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": [w.other_record_run]}}}),
        ("POST", "/logs/filter", {}),
        ("POST", "/artifacts/filter", {}),
        ("GET", f"/artifacts/{w.other_artifact}", None),
        ("POST", "/deployments/filter", {}),
        ("GET", f"/deployments/{w.plan_deployment}", None),
        ("GET", "/deployments/name/报送整改方案/报送整改方案", None),
        ("POST", "/ui/flows/next-runs", {}),
        ("GET", "/admin/settings", None),
        ("POST", "/work_pools/filter", {}),
        ("POST", "/variables/filter", {}),
        ("POST", "/events/filter", {}),
        ("POST", "/block_documents/filter", {}),
        ("POST", "/automations/filter", {}),
        ("POST", "/concurrency_limits/filter", {}),
    ]


def call(client: TestClient, method: str, path: str, body: Any) -> httpx.Response:
    return client.request(method, "/api" + path, json=body if method == "POST" else None)


def refused_in_chinese(r: httpx.Response) -> str:
    assert r.status_code == 403, (r.status_code, r.text[:300])
    reason = unquote(r.headers["x-xuncha-refused"])
    assert reason == r.json()["detail"] and any("\u4e00" <= c <= "\u9fff" for c in reason), reason
    return reason


def no_sentinel(r: httpx.Response) -> None:
    for s in (*SENTINELS, SETTING):
        assert s not in r.text, (r.request.method, r.request.url.path, s)


# Who reads what: "none" refuses every route; "own" narrows runs to the person's team; "all" is the office.
PEOPLE = [
    ("钱正平", "none"),  # 城东街道's contact
    ("郑文斌", "none"),  # 纪委监委, a receiving body
    ("许丽", "none"),  # 职能部门
    ("刘洋", "own"),  # 第一巡察组's member: 城东街道 only, not 区财政局
    ("李建国", "own"),  # 第一巡察组's leader
    ("陶文华", "all"),  # 巡察办
]


@pytest.mark.parametrize(("name", "reach"), PEOPLE)
def test_no_role_reads_another_units_runs_through_any_route(world: World, name: str, reach: str) -> None:
    client = logged_in(world.app, name)
    leaked = []
    for method, path, body in routes(world):
        r = call(client, method, path, body)
        if reach == "none":
            assert refused_in_chinese(r) == NO_PLATFORM.format(role=client.get("/gateway/me").json()["role"])
        elif reach == "own":
            if r.status_code != 403:
                assert r.status_code == 200, (path, r.status_code, r.text[:200])
            else:
                refused_in_chinese(r)
            no_sentinel(r)
        else:
            assert r.status_code == 200, (path, r.status_code)
            leaked += [s for s in SENTINELS if s in r.text]
    if reach == "all":  # the stand-in does hold the sentinels: the rows above could fail
        assert set(leaked) == set(SENTINELS)


def test_a_team_member_reads_their_own_rounds_units_only(world: World) -> None:
    client = logged_in(world.app, "刘洋")
    runs = call(client, "POST", "/flow_runs/filter", {}).json()
    assert {r["id"] for r in runs} == {world.round_run, world.own_unit_run, world.own_record_run}
    assert call(client, "GET", f"/flow_runs/{world.own_unit_run}", None).status_code == 200
    logs = call(client, "POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": [world.own_record_run]}}})
    assert logs.status_code == 200 and [x["message"] for x in logs.json()] == ["登记完成"]
    # Asking for the other unit's run and one's own together: only one's own comes back.
    mixed = call(client, "POST", "/flow_runs/filter",
                 {"flow_runs": {"id": {"any_": [world.other_record_run, world.own_unit_run]}}}).json()
    assert [r["id"] for r in mixed] == [world.own_unit_run]
    # The deployments listed are the ones the member may run.
    assert [d["name"] for d in call(client, "POST", "/deployments/filter", {}).json()] == ["登记问题"]
    assert call(client, "GET", f"/deployments/{world.record_deployment}", None).status_code == 200
    assert call(client, "GET", f"/deployments/{world.unit_deployment}", None).status_code == 200  # its run's
    assert "只能查看本人可以运行的部署" in refused_in_chinese(call(client, "GET", f"/deployments/{world.plan_deployment}", None))
    # 第二巡察组's member sees 区财政局's runs and not 城东街道's.
    other = logged_in(world.app, "黄磊")
    seen = {r["id"] for r in call(other, "POST", "/flow_runs/filter", {}).json()}
    assert seen == {world.round_run, world.other_unit_run, world.other_record_run, world.other_plan_run}


def test_the_leading_group_reads_runs_but_no_engineering(world: World) -> None:
    client = logged_in(world.app, "张明")
    assert len(call(client, "POST", "/flow_runs/filter", {}).json()) == len(world.upstream.runs)
    assert call(client, "POST", "/logs/filter", {}).status_code == 200
    assert call(client, "GET", f"/deployments/{world.plan_deployment}", None).status_code == 200
    for method, path, body in [("POST", "/concurrency_limits/filter", {}), ("POST", "/work_queues/filter", {}),
                               ("POST", "/variables/filter", {}), ("POST", "/automations/filter", {}),
                               ("POST", "/block_documents/filter", {})]:
        assert "仅限：巡察办" in refused_in_chinese(call(client, method, path, body))


def test_the_engineering_reads_the_console_makes_unasked_are_answered_empty(world: World) -> None:
    """The sidebar waits for the server's settings and the pages ask for work pools and events by
    themselves: to everyone but the office they are answered empty (nothing of the platform's
    configuration, and never the upstream's answer), not refused, so the console still draws."""
    from deployments.gateway.policy import QUIET_READS

    for name in ("张明", "刘洋", "李建国"):
        client = logged_in(world.app, name)
        for (method, path), empty in QUIET_READS.items():
            r = call(client, method, path, {} if method == "POST" else None)
            assert r.status_code == 200 and r.json() == empty, (name, path, r.text)
    office = logged_in(world.app, "陶文华")
    seen = len(world.upstream.seen)
    assert call(office, "GET", "/admin/settings", None).status_code == 200
    assert len(world.upstream.seen) == seen + 1  # the office's goes to Prefect


def test_a_run_started_through_the_gateway_carries_its_units_tag_only(world: World) -> None:
    with session_scope() as s:  # findings are registered in 集中巡察 only (the gateway checks before the run)
        own = s.exec(select(Inspection).where(Inspection.flow_run_id == world.own_unit_run)).one()
        assert own.id is not None
        advance(s, get_settings(), own.id, Stage.STATIONING)
    client = logged_in(world.app, "刘洋")
    forged = unit_tag(ROUND, "区财政局")
    body = {"tags": [forged, "备注"], "parameters": {"params": {"round_name": ROUND, "unit_name": "城东街道",
                                                              "reporter": "别人",
                                                              "findings": [{"category": "党的建设", "description": "会议记录不全"}]}}}
    r = client.post(f"/api/deployments/{world.record_deployment}/create_flow_run", json=body)
    assert r.status_code == 201, r.text
    sent = [b for m, p, b in world.upstream.seen if p.endswith("/create_flow_run")][-1]
    assert sent["tags"] == ["备注", unit_tag(ROUND, "城东街道")]
    assert sent["parameters"]["params"]["reporter"] == "刘洋"


def test_roles_without_platform_work_are_sent_to_their_todo_page(world: World) -> None:
    for name in ("钱正平", "郑文斌"):
        client = logged_in(world.app, name)
        for page in ("/", "/runs", f"/runs/flow-run/{world.other_record_run}", "/settings"):
            r = client.get(page, headers={"accept": "text/html"})
            assert r.status_code == 302 and r.headers["location"] == "/office/"
        # Writes too: their starts and answers are on the office pages.
        r = client.post(f"/api/deployments/{world.plan_deployment}/create_flow_run", json={"parameters": {}})
        assert refused_in_chinese(r) == NO_PLATFORM.format(role=client.get("/gateway/me").json()["role"])
        with session_scope() as s:
            from sqlmodel import select

            from models.tables import AuditEvent

            assert s.exec(select(AuditEvent).where(AuditEvent.actor == name,
                                                   AuditEvent.action == "界面操作（被拒绝）")).first() is not None


@pytest.mark.parametrize(("name", "events", "logs"), [
    ("刘洋", False, False), ("钱正平", False, False), ("张明", False, True)])
def test_websockets_follow_the_same_rules(world: World, name: str, events: bool, logs: bool) -> None:
    client = logged_in(world.app, name)
    for path, open_ in (("/events/out", events), ("/logs/out", logs)):
        if open_:
            continue  # allowed through (nothing listens upstream for a socket in this test)
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/api" + path):
            pass
        assert closed.value.code == 4403


def test_the_console_opens_on_the_runs_for_all_but_the_office(world: World) -> None:
    """The dashboard's cards and the engineering pages are the office's: others land on the runs."""
    for name in ("刘洋", "张明"):
        client = logged_in(world.app, name)
        for page in ("/", "/dashboard", "/work-pools", "/settings", "/events"):
            r = client.get(page, headers={"accept": "text/html"})
            assert r.status_code == 302 and r.headers["location"] == "/runs", (name, page)
        assert client.get("/runs", headers={"accept": "text/html"}).status_code == 200
    office = logged_in(world.app, "陶文华")
    assert office.get("/work-pools", headers={"accept": "text/html"}).status_code == 200


def test_the_read_table_denies_by_default() -> None:
    """Every role but the office reads only listed routes; office-page roles none at all."""
    from deployments.gateway.policy import Kind, Refused, classify
    from tests.identity.test_gateway import prefect_routes

    for role in AccessRole:
        for method, path in prefect_routes():
            if classify(method, path).kind is not Kind.READ:
                continue
            try:
                read = read_rule(role, method, path)
            except Refused:
                assert role is not AccessRole.OFFICE
                continue
            assert role is AccessRole.OFFICE or (
                uses_platform(role) and any(r.method == method and r.pattern.search(path) for r in READ_ROUTES))
            if role in (AccessRole.TEAM_LEADER, AccessRole.TEAM_MEMBER) and path.startswith("/flow_runs"):
                assert read.reach is not Reach.OPEN, path
