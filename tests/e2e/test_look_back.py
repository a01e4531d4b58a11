"""The look-back end to end on a real Prefect server: a unit lags, the daily sweep deployment
starts its look-back once, the team verifies every item through the form, and the results,
accountability and reopened items are stored."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from prefect.deployments import run_deployment
from sqlmodel import col, select

from models.clock import now, today
from models.db import session_scope
from models.enums import ItemStatus, Stage
from models.settings import get_settings
from models.tables import (
    Accountability,
    Alert,
    Finding,
    Inspection,
    LookBack,
    LookBackCheck,
    RectificationItem,
)
from tests.support.advance import advance
from tests.support.driver import answer, latest_table, pause_key, wait_for
from tests.support.factories import finding, make_round, round_params

pytestmark = pytest.mark.stack


def lagging_unit(name: str, unit: str = "区住房和城乡建设局", leader: str = "马成功", member: str = "林静") -> int:
    """A unit fed back 61 days ago with three items and nothing rectified."""
    fed_back = now() - timedelta(days=61)
    params = round_params(name=name, start=date(2026, 9, 1), end=date(2026, 9, 30), leader=leader, deputy=None,
                          members=[member], units=[unit])
    with session_scope() as s:
        _, (insp,) = make_round(s, params, now=fed_back)
        assert insp.id is not None
        advance(s, get_settings(), insp.id, Stage.RECTIFICATION, now=fed_back,
                findings=[finding(f"工程项目{k}未按规定招标", category="工程建设") for k in range(3)])
        return insp.id


def test_lagging_unit_gets_one_look_back_that_runs_to_completion(stack: Any) -> None:
    name = f"回头看测试轮次-{uuid.uuid4().hex[:6]}"
    iid = lagging_unit(name)
    with session_scope() as s:
        items = [i.id for i in s.exec(select(RectificationItem).where(RectificationItem.inspection_id == iid).order_by(col(RectificationItem.id)))]
    # The unit reports formally through the progress form, but nothing is finished.
    progress = run_deployment("报送整改进展/报送整改进展", timeout=240, parameters={"params": {
        "round_name": name, "unit_name": "区住房和城乡建设局", "reporter": "杨光辉", "formal": True,
        "items": [{"item": str(items[0]), "status": "整改中", "measure_taken": "正在补办招标手续"}]}})
    assert progress.state is not None and progress.state.is_completed(), progress.state

    sweep_run = run_deployment("督促整改/每日督办", parameters={"params": {"as_of": str(today())}}, timeout=240)
    assert sweep_run.state is not None and sweep_run.state.is_completed(), sweep_run.state
    with session_scope() as s:
        lb = s.exec(select(LookBack).where(LookBack.source_inspection_id == iid)).one()
        assert lb.cause == "整改率偏低" and lb.flow_run_id
        lb_id, run_id = lb.id, lb.flow_run_id
        assert s.exec(select(Inspection).where(Inspection.id == iid)).one().formal_report_at is not None
    # The sweep lists every look-back with unit, reason, state and link.
    listed = {r["单位"]: r for r in latest_table("look-backs")}
    assert "整改率偏低" in listed["区住房和城乡建设局"]["原因"] and listed["区住房和城乡建设局"]["流程"].endswith(run_id)
    # The progress table is per unit, with the estimate: nothing finished in 61 days, no pace to project;
    # every item is overdue, so the overdue ladder has the unit and no early warning goes out.
    row = next(r for r in latest_table("rectification-progress") if r["轮次"] == name)
    assert (row["单位"], row["已逾期"], row["预计完成"]) == ("区住房和城乡建设局", 3, "近期无新完成，无法估计")
    with session_scope() as s:
        assert not s.exec(select(Alert).where(col(Alert.dedupe_key).startswith(f"pace:{iid}:"))).all()

    wait_for(run_id, paused=True, timeout=240)
    assert pause_key(run_id) == f"look-back-{iid}-1-0"
    with session_scope() as s:
        team = s.get(LookBack, lb_id).team  # type: ignore[union-attr]
    names = [t.split("：")[1] for t in team]
    assert team[0].startswith("组长：") and len(names) == 3
    assert not {"马成功", "林静", "孙丽娟", "刘洋"} & set(names)  # first team rotated out; 住建局 staff recuse

    # Incomplete verification is refused and asked again.
    answer(run_id, approver=names[0], checks=[{"item_id": items[0], "result": "已整改"}])
    wait_for(run_id, paused=True, timeout=240)
    assert pause_key(run_id) == f"look-back-{iid}-1-1"
    answer(run_id, approver=names[0], comment="整改不实", checks=[
        {"item_id": items[0], "result": "已整改", "note": "已补办手续"},
        {"item_id": items[1], "result": "未整改"},
        {"item_id": items[2], "result": "虚假整改", "note": "整改材料与实际不符"},
    ], new_findings=[{"category": "工程建设", "description": "新发现：工程款拨付审批不严"}])
    fr = wait_for(run_id, final=True, timeout=240)
    assert fr.state is not None and fr.state.is_completed(), fr.state

    with session_scope() as s:
        checks = {c.item_id: c.result for c in s.exec(select(LookBackCheck).where(LookBackCheck.look_back_id == lb_id))}
        assert checks == {items[0]: "已整改", items[1]: "未整改", items[2]: "虚假整改"}
        status = {i.id: ItemStatus(i.status) for i in s.exec(select(RectificationItem).where(RectificationItem.inspection_id == iid))}
        assert status[items[0]] == ItemStatus.CLOSED
        assert status[items[1]] == status[items[2]] == ItemStatus.IN_PROGRESS
        assert len(status) == 4  # the new finding became a new item in the unit's lists
        assert s.exec(select(Finding).where(Finding.inspection_id == iid, Finding.description == "新发现：工程款拨付审批不严")).one()
        kinds = sorted(a.kind for a in s.exec(select(Accountability).where(Accountability.look_back_id == lb_id)))
        assert kinds == ["处理建议", "约谈", "通报"]
        assert s.get(LookBack, lb_id).status == "已完成"  # type: ignore[union-attr]
        assert s.get(Inspection, iid).stage == Stage.RECTIFICATION  # type: ignore[union-attr]

    # The next sweep does not start a second look-back for the same unit.
    again = run_deployment("督促整改/每日督办", parameters={"params": {"as_of": str(today() + timedelta(days=40))}}, timeout=240)
    assert again.state is not None and again.state.is_completed()
    with session_scope() as s:
        assert len(s.exec(select(LookBack).where(LookBack.source_inspection_id == iid)).all()) == 1


def test_common_problems_grouped_by_themselves_once_the_reports_are_approved(stack: Any) -> None:
    """Nobody starts 共性问题归类: once both units' reports are approved (here by the domain
    functions, so no unit flow runs) the relay's housekeeping registers the grouping and starts its
    run; the form proposes only the findings marked 共性问题, a confirmation without a leader in
    charge is refused and asked again."""
    from models.tables import CommonGrouping, CommonProblem
    from tests.support.driver import read

    name = f"共性问题测试轮次-{uuid.uuid4().hex[:6]}"
    params = round_params(name=name, start=date(2026, 10, 1), end=date(2026, 10, 31), leader="周卫东", deputy=None,
                          members=["郭涛"], units=["城西街道", "临城街道"])
    with session_scope() as s:
        rnd, inspections = make_round(s, params, now=now())
        round_id = rnd.id
        for insp in inspections:
            advance(s, get_settings(), insp.id or 0, Stage.FEEDBACK, now=now(), findings=[
                finding("财务报销审核不严", category="全面从严治党", scope="共性问题"),
                finding("“三会一课”制度落实不到位", category="党的建设")])  # 个性问题: not proposed
    deadline = time.monotonic() + 120
    run_id = None
    while run_id is None and time.monotonic() < deadline:
        with session_scope() as s:
            run_id = s.exec(select(CommonGrouping.flow_run_id).where(CommonGrouping.round_id == round_id)).first()
        time.sleep(1)
    assert run_id, "the relay did not start the grouping"
    fr = wait_for(run_id, paused=True, timeout=240)
    assert fr.name == f"共性问题归类·{name}·第1次" and pause_key(run_id) == "common-0-1-0"
    with session_scope() as s:
        ids = sorted(f.id for f, _ in s.exec(select(Finding, Inspection).join(Inspection).where(  # type: ignore[misc]
            Inspection.round_id == round_id, Finding.category == "全面从严治党")))
    group = {"category": "全面从严治党", "title": "财务报销审核不严", "finding_ids": ids, "departments": ["区财政局"]}
    # Without a leader in charge the confirmation is refused (the form requires one: a choice of the
    # org data's 分管领导) and the run goes on waiting.
    with pytest.raises(RuntimeError, match="leader_in_charge"):
        answer(run_id, approver="陶文华", groups=[group])
    assert read(run_id).state.is_paused() and pause_key(run_id) == "common-0-1-0"  # type: ignore[union-attr]
    answer(run_id, approver="陶文华", groups=[group | {"leader_in_charge": "吴志刚"}])
    fr = wait_for(run_id, final=True, timeout=240)
    assert fr.state is not None and fr.state.is_completed(), read(run_id).state
    with session_scope() as s:
        (cp,) = s.exec(select(CommonProblem).where(CommonProblem.round_id == round_id)).all()
        assert (cp.leader_in_charge, cp.departments, cp.confirmed_by) == ("吴志刚", ["区财政局"], "陶文华")
        assert s.exec(select(CommonGrouping.status).where(CommonGrouping.round_id == round_id)).one() == "已确认"
