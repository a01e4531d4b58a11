"""Nothing a clerk starts ends in a traceback, on the real stack: the gateway checks 发起巡察's
form with the domain's own checks before any run exists and refuses in Chinese (every problem,
nothing written, no run); the form's defaults are refused or run, never Failed; the form offers
the org data's lists; a run the domain refuses ends with one Chinese line, no traceback."""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlmodel import select

from deployments.cli.main import demo_round_params
from models.db import session_scope
from models.tables import InspectionRound
from tasks.ops.forms import refresh_forms
from tests.support.driver import http_login, read, ready_account, retire_round, wait_for

pytestmark = pytest.mark.stack


def _runs_of(stack: Any, deployment_id: str) -> int:
    r = httpx.post(f"{stack.api_url}/flow_runs/count", json={"deployments": {"id": {"any_": [deployment_id]}}}, timeout=30)
    assert r.status_code == 200, r.text
    return int(r.json())


def _refusal(r: Any) -> str:
    """The refusal as the form shows it (session.js reads the header)."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    shown = unquote(r.headers["x-xuncha-refused"])
    assert shown == r.json()["detail"]
    return shown


def test_a_round_is_checked_before_its_run_exists(stack: Any) -> None:
    with session_scope() as s:  # as `load-org` and `up` do
        refresh_forms(session=s)
    office = http_login(stack.ui_url, ready_account("陶文华"))  # 巡察办
    try:
        dep = office.get("/api/deployments/name/巡察轮次/发起巡察").json()
        dep_id = str(dep["id"])
        team = dep["parameter_openapi_schema"]["definitions"]["TeamSpec"]["properties"]
        assert "李建国" in team["leader"]["enum"] and "城东街道" in team["units"]["items"]["enum"]
        assert "林静" not in team["leader"]["enum"]  # 人才库 only: offered as a member, not as a leader
        assert "城东街道" not in str(dep["parameters"])  # no demo units in the form's defaults

        # The form as it opens: refused in Chinese, or it runs; never a Failed run.
        before = _runs_of(stack, dep_id)
        r = office.post(f"/api/deployments/{dep_id}/create_flow_run", json={"parameters": dep["parameters"]})
        if r.status_code == 201:
            fr = wait_for(r.json()["id"], paused=True, timeout=300)
            assert fr.state is not None and not fr.state.is_failed()
        else:
            assert "表单内容为空，请填写后再提交" in _refusal(r)
            assert _runs_of(stack, dep_id) == before

        # A bad round: every problem listed in Chinese, no run, nothing written.
        name = f"检查测试轮次-{secrets.token_hex(3)}"
        bad = {**demo_round_params(), "name": name}
        bad["teams"] = [{**bad["teams"][0], "leader": "林静", "members": ["郭涛", "查无此人"]},
                        {**bad["teams"][1], "units": ["城东街道"]}]
        before = _runs_of(stack, dep_id)
        r = office.post(f"/api/deployments/{dep_id}/create_flow_run", json={"parameters": {"params": bad}})
        shown = _refusal(r)
        assert shown.startswith("未运行“发起巡察”，请修改表单后再提交：\n1. "), shown
        for problem in ("林静 不在巡察组长库中，不能担任组长", "未知的人员：查无此人",
                        "单位“城东街道”同时分配给了 第一巡察组 和 第二巡察组"):
            assert problem in shown, shown
        assert "Traceback" not in shown and "\\n" not in shown
        assert _runs_of(stack, dep_id) == before
        with session_scope() as s:
            assert s.exec(select(InspectionRound).where(InspectionRound.name == name)).first() is None

        # A good round gets its run, named by what it is.
        good = {**demo_round_params(), "name": name}
        r = office.post(f"/api/deployments/{dep_id}/create_flow_run", json={"parameters": {"params": good}})
        if r.status_code != 201:  # the demo's people may be on a round another test left running
            assert "正在参加" in _refusal(r) or "正在“" in _refusal(r)
            return
        run_id = r.json()["id"]
        try:
            assert r.json()["name"] == f"巡察轮次·{name}"
            fr = wait_for(run_id, paused=True, timeout=300)
            assert fr.name == f"巡察轮次·{name}"
            assert _runs_of(stack, dep_id) == before + 1
        finally:
            retire_round(name)
    finally:
        office.close()


def test_a_refusal_inside_a_run_is_one_chinese_line(stack: Any) -> None:
    """A 登记问题 run for a round that does not exist, created on the server directly (past the
    gateway's check and the form's list), ends Failed with one Chinese line, no traceback."""
    dep = httpx.get(f"{stack.api_url}/deployments/name/登记问题/登记问题", timeout=30).json()
    round_name = f"不存在的轮次-{secrets.token_hex(3)}"
    params = {"round_name": round_name, "unit_name": "城东街道",
              "findings": [{"category": "党的建设", "description": "三会一课不规范"}]}
    r = httpx.post(f"{stack.api_url}/deployments/{dep['id']}/create_flow_run",
                   json={"parameters": {"params": params}, "enforce_parameter_schema": False}, timeout=30)
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    fr = wait_for(run_id, final=True, timeout=300)
    line = f"未知的巡察轮次：{round_name}"
    assert fr.state is not None and fr.state.is_failed() and fr.state.message == line, fr.state
    assert read(run_id).name == f"登记问题·{round_name}·城东街道"

    def messages_now() -> list[str]:
        logs = httpx.post(f"{stack.api_url}/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}},
                          timeout=30).json()
        return [entry["message"] for entry in logs]

    # The run's own log lines reach the server in batches, after its final state on a loaded machine:
    # wait for ours, then a little longer, so a repeat sent after it would be seen too.
    deadline = time.monotonic() + 90
    while line not in messages_now() and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(5)
    messages = messages_now()
    assert messages, "the run logged nothing"
    assert not [m for m in messages if "Traceback" in m or "\\n" in m or "DomainError" in m], "\n".join(messages)
    assert messages.count(line) == 1, messages  # ours, once; Prefect's own lines do not repeat it as an error
