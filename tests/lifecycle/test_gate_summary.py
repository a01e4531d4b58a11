"""What an approver reads (tasks/lifecycle/gate_summary.py): read from the database when asked,
never a clue's or a petition's text, and no table or long line for a phone."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from models import tables
from models.enums import Gate, Stage
from models.forms import PlanItemIn, ProgressIn
from models.settings import Settings
from tasks.clues.ledger import add_petition, store_clue
from tasks.lifecycle import gate_summary
from tasks.lifecycle.findings import record_findings
from tasks.lifecycle.stages import open_items
from tasks.supervision.rectification import report_progress, submit_plan
from tests.conftest import NOW
from tests.support.advance import advance
from tests.support.factories import (
    finding,
    in_stationing,
    make_round,
    round_params,
    sample_findings,
    team_data,
)

SECRET = "哨兵-线索内容-9Q2"
SECRET_PETITION = "哨兵-举报内容-4K8"


def text(s: Session, settings: Settings, gate: Gate, inspection_id: int | None, round_id: int | None = None) -> str:
    summary = gate_summary.gate_summary(session=s, settings=settings, gate=gate, round_id=round_id,
                                        inspection_id=inspection_id)
    assert summary is not None
    return summary.markdown()


def readable_on_a_phone(md: str) -> None:
    assert "|" not in md.replace("\\|", "")  # no Markdown table
    assert all(len(line) <= 140 for line in md.splitlines()), max(md.splitlines(), key=len)


def test_plan_lists_teams_members_by_role_units_dates(demo_org: Session, settings: Settings) -> None:
    params = round_params(teams=[
        team_data(name="第一巡察组", leader="李建国", deputy="陈晓梅", members=["林静", "郭涛"], units=["城东街道", "区财政局"]),
        team_data(name="第二巡察组", leader="周卫东", deputy=None, members=["刘洋"], units=["区交通投资集团"])])
    rnd, _ = make_round(demo_org, params)
    md = text(demo_org, settings, Gate.PLAN, None, rnd.id)
    assert "进驻时间：" in md and f"{params.start_date.year}年{params.start_date.month}月{params.start_date.day}日" in md
    assert "巡察组 2 个，被巡察单位 3 个" in md
    assert "**第一巡察组**" in md and "- 组长：李建国" in md and "- 副组长：陈晓梅" in md and "- 组员：林静、郭涛" in md
    assert "- 被巡察单位：城东街道、区财政局" in md and "- 副组长：—" in md
    assert "**回避及未选配说明**" in md
    readable_on_a_phone(md)
    # A composed round's exclusions are the recusal notes.
    rnd.exclusions = {"王某": ["曾在城东街道工作"]}
    demo_org.add(rnd)
    assert "- 王某：曾在城东街道工作" in text(demo_org, settings, Gate.PLAN, None, rnd.id)


def test_figures_are_read_when_asked_not_when_the_gate_opened(demo_org: Session, settings: Settings) -> None:
    """The stationing gate opened with nothing registered; a finding registered later shows."""
    iid = in_stationing(demo_org, settings)
    assert "已登记问题 0 个" in text(demo_org, settings, Gate.STATIONING_DONE, iid)
    insp = demo_org.get(tables.Inspection, iid)
    assert insp is not None
    record_findings(session=demo_org, inspection=insp, findings=sample_findings(), by="巡察组", now=NOW)
    md = text(demo_org, settings, Gate.STATIONING_DONE, iid)
    assert "已登记问题 3 个（其中立行立改 1 个）" in md and "- 选人用人：1 个" in md


def test_report_figures_and_findings_by_category_without_clue_or_petition_text(demo_org: Session,
                                                                             settings: Settings) -> None:
    iid = in_stationing(demo_org, settings)
    insp = demo_org.get(tables.Inspection, iid)
    assert insp is not None
    record_findings(session=demo_org, inspection=insp, by="巡察组", now=NOW, findings=[
        *sample_findings(), finding("财务报销 *审核* 不严 | 附件缺失", category="全面从严治党")])
    store_clue(session=demo_org, inspection=insp, kind="违纪违法线索", summary=SECRET, by="巡察组", now=NOW)
    add_petition(session=demo_org, settings=settings, by="刘洋", inspection_id=iid, channel="来信", content=SECRET_PETITION,
                 informant_name="举报人甲", now=NOW)
    advance(demo_org, settings, iid, Stage.REPORTING)
    md = text(demo_org, settings, Gate.REPORT, iid)
    assert "发现问题 4 个（其中立行立改 1 个）" in md and "按类别：党的建设 1 个，全面从严治党 2 个，选人用人 1 个" in md
    assert "问题线索 1 件" in md and "信访举报 1 件" in md
    assert "**全面从严治党（2 个）**" in md and "公务接待超标准" in md
    assert "财务报销 \\*审核\\* 不严 \\| 附件缺失" in md  # typed text shown as typed, not as Markdown
    assert SECRET not in md and SECRET_PETITION not in md and "举报人甲" not in md
    readable_on_a_phone(md)


def test_clue_transfer_counts_and_receivers_only(demo_org: Session, settings: Settings) -> None:
    iid = in_stationing(demo_org, settings)
    insp = demo_org.get(tables.Inspection, iid)
    assert insp is not None
    for kind in ("违纪违法线索", "违纪违法线索", "选人用人问题"):
        store_clue(session=demo_org, inspection=insp, kind=kind, summary=f"{SECRET}{kind}", by="巡察组", now=NOW)
    md = text(demo_org, settings, Gate.CLUE_TRANSFER, iid)
    assert "待移交问题线索 3 件" in md and "- 纪委监委：2 件" in md and "- 组织部：1 件" in md
    assert SECRET not in md


def test_plan_review_lists_measures_and_close_out_the_items_done(demo_org: Session, settings: Settings) -> None:
    iid = in_stationing(demo_org, settings)
    advance(demo_org, settings, iid, Stage.RECTIFICATION, findings=sample_findings())
    insp = demo_org.get(tables.Inspection, iid)
    assert insp is not None
    items = open_items(session=demo_org, inspection_id=iid)
    assert len(items) == 2
    submit_plan(session=demo_org, settings=settings, inspection=insp, by="单位书记", now=NOW, link="", items=[
        PlanItemIn(item_id=i.id, measure=f"措施{i.id}：建立台账", owner="张三", deadline=NOW.date() + timedelta(days=30))
        for i in items])
    md = text(demo_org, settings, Gate.RECT_PLAN, iid)
    assert "整改事项 2 项" in md
    for i in items:
        assert f"**{i.id}号 " in md and f"- 整改措施：措施{i.id}：建立台账" in md
    assert "- 责任人：张三" in md
    readable_on_a_phone(md)
    done = items[0]
    report_progress(session=demo_org, settings=settings, inspection=insp, formal=False, by="单位书记", now=NOW,
                    reports=[ProgressIn(item_id=done.id, status="已完成待核", measure_taken="已建立台账", evidence="台账复印件")])
    md = text(demo_org, settings, Gate.CLOSE_OUT, iid)
    assert "申请销号（已完成待核）1 项" in md and "仍在整改 1 项" in md
    assert f"**{done.id}号 " in md and "- 采取的措施：已建立台账" in md and "- 佐证材料：台账复印件" in md
    assert f"**{items[1].id}号 " not in md


def test_other_gates_are_not_described(demo_org: Session, settings: Settings) -> None:
    iid = in_stationing(demo_org, settings)
    rid = demo_org.exec(select(tables.Inspection.round_id).where(tables.Inspection.id == iid)).one()
    assert gate_summary.gate_summary(session=demo_org, settings=settings, gate=Gate.COMMON, round_id=rid,
                                     inspection_id=None) is None
