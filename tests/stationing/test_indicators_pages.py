"""The report gate through the login gateway (in-process): 巡察组提交报告 with an indicator not
examined and no 缺项说明 is refused on the form in Chinese before anything reaches Prefect; the
same answer with a reason passes the gateway's check (the flow checks it again)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from starlette.applications import Starlette

from deployments.gateway.app import coverage_refusal, create_app
from deployments.ops.stack import free_port
from models.clock import now as clock_now
from models.db import session_scope
from models.enums import Gate
from models.errors import DomainError
from models.indicator_tables import CoverageGap
from models.settings import get_settings
from models.tables import Approval, GateReceipt, Inspection
from tasks.lifecycle.approvals import open_gate
from tasks.planning.org import load_org, read_org_file
from tasks.stationing import indicators as ind
from tests.conftest import DEMO_ORG
from tests.support.factories import in_stationing
from tests.support.gateway import ORIGIN, csrf, logged_in

RUN = str(uuid.UUID(int=27))


@pytest.fixture
def app(cli_home: Path) -> Iterator[Starlette]:
    settings, t = get_settings(), clock_now()
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    with session_scope() as s:
        iid = in_stationing(s, settings, now=t)
        insp = s.get(Inspection, iid)
        assert insp is not None
        open_gate(session=s, settings=settings, round_id=insp.round_id, inspection_id=iid, gate=Gate.STATIONING_DONE,
                  attempt=1, flow_run_id=RUN, now=t)
        ind.load_sample(session=s, by="陶文华", now=t)
    yield create_app(upstream=f"http://127.0.0.1:{free_port()}")  # nothing upstream: a refusal comes first


def test_an_unexplained_gap_is_refused_on_the_form(app: Starlette) -> None:
    client = logged_in(app, "李建国")  # 组长 of the team inspecting 城东街道
    r = client.post(f"/api/flow_runs/{RUN}/resume", headers={"origin": ORIGIN},
                    json={"run_input": {"decision": "进驻结束，提交巡察报告", "comment": "", "gap_reason": ""}})
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert detail.startswith("未提交“巡察组提交报告”：未核查的指标")
    assert "（示例）" in detail and "未使用的巡察方法：个别谈话" in detail and "缺项说明" in detail
    with session_scope() as s:  # nothing written: no receipt, the gate still waits
        assert s.exec(select(GateReceipt)).first() is None
        assert s.exec(select(Approval)).one().status == "待审批"


def test_a_reason_passes_the_gateways_check(app: Starlette) -> None:
    with session_scope() as s:
        approval = s.exec(select(Approval)).one()
        with pytest.raises(DomainError, match="缺项说明"):
            coverage_refusal(s, approval, {"run_input": {"gap_reason": "略"}})
        coverage_refusal(s, approval, {"run_input": {"gap_reason": "进驻期间信访渠道未收到反映，未开展暗访"}})
        assert s.exec(select(CoverageGap)).first() is None  # kept by the flow once it takes the answer


def test_office_page_shows_coverage_and_records_an_examination(app: Starlette, tmp_path: Path) -> None:
    leader = logged_in(app, "李建国")
    page = leader.get("/office/indicators")
    assert page.status_code == 200
    assert "城东街道" in page.text and "指标覆盖：已核查 0/10（0%）" in page.text and "不是官方指标清单" in page.text
    r = leader.post("/office/indicators/examine", headers={"origin": ORIGIN}, data={
        "csrf": csrf(page.text), "inspection": str(_iid()), "indicator": "“三重一大”集体决策（示例）",
        "method-1": "个别谈话", "method-8": "查阅资料", "findings": "", "note": "查阅党委会记录"})
    assert r.status_code == 303, r.text
    after = leader.get(r.headers["location"])
    assert "已登记：" in after.text and "已核查 1/10（10%）" in after.text
    (tmp_path / "indicators.html").write_text(after.text, encoding="utf-8")  # looked at in a browser while writing

    bad = leader.post("/office/indicators/examine", headers={"origin": ORIGIN}, data={
        "csrf": csrf(page.text), "inspection": str(_iid()), "indicator": "“三重一大”集体决策（示例）", "findings": "一"})
    assert bad.status_code == 400 and "未登记：问题编号应为数字" in bad.text

    other = logged_in(app, "林静")  # a member of no team in this round: no unit, no form, and a post refused
    page = other.get("/office/indicators")
    assert page.status_code == 200 and "城东街道" not in page.text and "登记核查情况" not in page.text
    r = other.post("/office/indicators/examine", headers={"origin": ORIGIN}, data={
        "csrf": csrf(page.text), "inspection": str(_iid()), "indicator": "干部选拔任用（示例）", "method-1": "个别谈话"})
    assert r.status_code == 403 and "不由您所在的巡察组巡察" in r.text
    contact = logged_in(app, "钱正平")
    assert contact.get("/office/indicators").status_code == 403


def _iid() -> int:
    with session_scope() as s:
        return s.exec(select(Approval)).one().inspection_id or 0
