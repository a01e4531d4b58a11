"""A gate's own check made in the answer's one step (tasks/lifecycle/answers.py settle_answer): the
term plan's edits, the common-problem groups, the look-back's item checks, the indicator coverage
and the close-out's common findings are checked inside the transaction that takes or refuses the
answer; a refused answer writes its refusal only, a taken one its decision (and, for the coverage,
the reason for its gaps) only: the plan, the groups and the look-back's results are written later
by their own steps."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, col, select

from models import tables
from models.enums import ApprovalStatus, Gate, GroupingStatus, LookBackStatus, Stage
from models.forms import CommonGroupIn, ItemCheckIn, ProgressIn
from models.indicator_tables import CoverageGap
from models.settings import Settings
from tasks.infra.audit import verify_trail
from tasks.lifecycle.answers import AnswerCheck, AnswerFields, CheckOn, settle_answer
from tasks.lifecycle.approvals import open_gate
from tasks.planning import term_plan
from tasks.stationing import indicators as ind
from tasks.supervision.common_problems import confirm_groups, register_due
from tasks.supervision.rectification import report_progress
from tests.conftest import HOUR, NOW
from tests.lifecycle.test_gate_codes import codes
from tests.planning.test_term_plan import make_term
from tests.stationing.test_indicators import _library, who
from tests.supervision.test_common_problem_timing import party_building
from tests.supervision.test_common_problems import archives, build, finance
from tests.support.factories import in_stationing


def _actions(s: Session, approval_id: int) -> list[str]:
    return [e.action for e in s.exec(select(tables.AuditEvent).where(
        tables.AuditEvent.entity == "approval", tables.AuditEvent.entity_id == approval_id).order_by(col(tables.AuditEvent.id)))]


def _settle(s: Session, settings: Settings, a: tables.Approval, code: str, try_no: int, answer: AnswerFields,
            check: AnswerCheck, on: CheckOn = CheckOn()) -> str:
    """One answer settled and committed, as settle_answer_task does: its refusal, or empty."""
    out = settle_answer(session=s, settings=settings, approval_id=a.id or 0, flow_run_id="abc",
                        pause_key=f"gate-{a.id}-{a.attempt}-{try_no}", try_no=try_no, answer=answer, check=check, on=on,
                        now=NOW + HOUR)
    s.commit()
    s.refresh(a)
    return out.error


def test_the_term_plans_edits_are_checked_in_the_answers_step(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    tid = make_term(s)
    plan = term_plan.propose(session=s, term_id=tid, as_of=date(2027, 1, 1))
    records = tuple(term_plan.plan_to_records(plan))
    first = [u.name for u in plan[0].units]
    moved = [u.name for u in plan[-1].units][:1]
    a = open_gate(session=s, settings=settings, round_id=None, inspection_id=None, term_id=tid, gate=Gate.TERM_PLAN,
                  attempt=1, flow_run_id="abc", now=NOW)
    s.commit()
    (code,) = codes(s, a.id or 0)

    def settle(edits: str, try_no: int) -> str:
        out = settle_answer(session=s, settings=settings, approval_id=a.id or 0, flow_run_id="abc",
                            pause_key=f"term-plan-{tid}-1-{try_no}", try_no=try_no,
                            answer=AnswerFields(decision="按调整批准", approver="陶文华", code=code, comment="",
                                                approved=True, adjusted=True, edits=edits),
                            check=AnswerCheck.TERM_EDITS, on=CheckOn(plan=records), now=NOW + HOUR)
        s.commit()
        return out.error

    assert settle("2027年第1轮：区不存在局", 0) == "第1行：未知的单位“区不存在局”"
    s.refresh(a)
    assert a.status == ApprovalStatus.PENDING and _actions(s, a.id or 0)[-1] == "审批被拒收"
    assert settle(f"2027年第1轮：{'、'.join(first + moved)}", 1) == ""
    s.refresh(a)
    assert a.status == ApprovalStatus.DECIDED and a.decision == "按调整批准" and a.approver == "陶文华"
    # The check wrote nothing of the plan: saving it is the flow's next step.
    assert s.exec(select(tables.PlannedUnit)).all() == []
    assert verify_trail(session=s) == []


@pytest.mark.both_databases  # a savepoint rolled back inside a transaction holding the audit chain's advisory lock
def test_the_groups_are_checked_by_a_dry_run_in_the_answers_step(demo_org: Session, settings: Settings) -> None:
    """The confirmation is made and rolled back inside the answer's transaction: a bad submission
    is refused with every problem, a good one is taken; neither leaves a common problem, a changed
    finding or a confirmed grouping behind, and the audit trail (its head file included) stays whole."""
    s = demo_org
    r = build(s, settings)  # every unit in 督促整改
    (g,) = register_due(session=s, now=NOW)
    s.commit()
    a = open_gate(session=s, settings=settings, round_id=r.id, inspection_id=None, gate=Gate.COMMON, attempt=g.attempt,
                  flow_run_id="abc", now=NOW)
    s.commit()
    (code,) = codes(s, a.id or 0)
    scopes = [(f.id, f.scope, f.common_problem_id) for f in s.exec(select(tables.Finding).order_by(col(tables.Finding.id)))]

    def settle(groups: tuple[CommonGroupIn, ...], try_no: int) -> str:
        out = settle_answer(session=s, settings=settings, approval_id=a.id or 0, flow_run_id="abc",
                            pause_key=f"common-0-{g.attempt}-{try_no}", try_no=try_no,
                            answer=AnswerFields(decision="确认归类", approver="陶文华", code=code, comment="",
                                                approved=True, groups=groups),
                            check=AnswerCheck.COMMON, now=NOW + HOUR)
        s.commit()
        return out.error

    def untouched() -> None:
        assert s.exec(select(tables.CommonProblem)).all() == []
        assert [(f.id, f.scope, f.common_problem_id)
                for f in s.exec(select(tables.Finding).order_by(col(tables.Finding.id)))] == scopes
        grouping = s.get(tables.CommonGrouping, g.id)
        assert grouping is not None and grouping.status != GroupingStatus.CONFIRMED
        assert verify_trail(session=s) == []

    error = settle((archives(r, leader_in_charge="无此领导"), party_building(r)), 0)
    assert "无此领导" in error, error
    s.refresh(a)
    assert a.status == ApprovalStatus.PENDING and _actions(s, a.id or 0)[-1] == "审批被拒收"
    untouched()
    assert settle((archives(r), party_building(r)), 1) == ""
    s.refresh(a)
    assert a.status == ApprovalStatus.DECIDED and a.approver == "陶文华" and _actions(s, a.id or 0)[-1] == "审批决定"
    untouched()


def test_the_look_backs_item_checks_are_checked_in_the_answers_step(demo_org: Session, settings: Settings) -> None:
    """Every item of the unit verified exactly once, or the answer is refused in Chinese with every
    problem; a taken answer records the decision only (the results are the flow's next step)."""
    s = demo_org
    r = build(s, settings)  # every unit in 督促整改, with its rectification items
    iid = r.inspections["城东街道"]
    insp = s.get(tables.Inspection, iid)
    assert insp is not None
    lb = tables.LookBack(source_inspection_id=iid, unit_id=insp.unit_id, cause="逾期未整改", triggered_on=NOW.date())
    s.add(lb)
    s.commit()
    items = [i.id or 0 for i in s.exec(select(tables.RectificationItem).where(
        tables.RectificationItem.inspection_id == iid).order_by(col(tables.RectificationItem.id)))]
    other = s.exec(select(tables.RectificationItem.id).where(
        tables.RectificationItem.inspection_id == r.inspections["区教育局"])).first()
    assert len(items) >= 2 and other is not None
    a = open_gate(session=s, settings=settings, round_id=r.id, inspection_id=iid, gate=Gate.LOOK_BACK, attempt=1,
                  flow_run_id="abc", now=NOW)
    s.commit()
    (code,) = codes(s, a.id or 0)
    on = CheckOn(look_back_id=lb.id or 0)

    def answer(*item_ids: int) -> AnswerFields:
        return AnswerFields(decision="提交核查结果", approver="陶文华", code=code, comment="", approved=True,
                            checks=tuple(ItemCheckIn(item_id=i, result="已整改") for i in item_ids))

    error = _settle(s, settings, a, code, 0, answer(items[0], items[0], other), AnswerCheck.LOOK_BACK, on)
    assert error == (f"整改事项{other}不属于该单位；整改事项{items[0]}重复核查；"
                     f"尚未核查的整改事项：{'、'.join(map(str, items[1:]))}")
    assert a.status == ApprovalStatus.PENDING and _actions(s, a.id or 0)[-1] == "审批被拒收"
    assert s.exec(select(tables.LookBackCheck)).all() == []
    assert _settle(s, settings, a, code, 1, answer(*items), AnswerCheck.LOOK_BACK, on) == ""
    assert a.status == ApprovalStatus.DECIDED and a.decision == "提交核查结果" and a.approver == "陶文华"
    assert _actions(s, a.id or 0)[-1] == "审批决定"
    # The check wrote nothing of the results: record_look_back_task does, after the gate.
    assert s.exec(select(tables.LookBackCheck)).all() == []
    lb_row = s.get(tables.LookBack, lb.id)
    assert lb_row is not None and lb_row.status == LookBackStatus.REGISTERED
    assert verify_trail(session=s) == []


def test_the_indicator_coverage_is_checked_in_the_answers_step_per_search(demo_org: Session, settings: Settings) -> None:
    """巡察组提交报告 (#27): an indicator not examined or a method not used needs a reason; the reason is
    kept under the search the gate was asked for (its attempt), by the approver, in the answer's step."""
    s = demo_org
    iid = in_stationing(s, settings)
    _library(s)
    insp = s.get(tables.Inspection, iid)
    assert insp is not None
    ind.record_check(session=s, account=who(s, "李建国"), inspection=insp, indicator="三重一大",
                     methods=["个别谈话", "问卷调查", "民主测评", "实地考察"], finding_ids=[], note="", now=NOW)
    s.commit()
    a = open_gate(session=s, settings=settings, round_id=insp.round_id, inspection_id=iid, gate=Gate.STATIONING_DONE,
                  attempt=2, flow_run_id="abc", now=NOW)  # the second search (a report returned once)
    s.commit()
    (code,) = codes(s, a.id or 0)

    def answer(reason: str) -> AnswerFields:
        return AnswerFields(decision="进驻结束，提交巡察报告", approver="李建国", code=code, comment="", approved=True,
                            gap_reason=reason)

    error = _settle(s, settings, a, code, 0, answer(" 无 "), AnswerCheck.COVERAGE)
    assert error.startswith("未核查的指标 1 项（基层党建）；未使用的巡察方法：寻找知情人、信访、暗访、查阅资料"), error
    assert "缺项说明" in error
    assert a.status == ApprovalStatus.PENDING and _actions(s, a.id or 0)[-1] == "审批被拒收"
    assert s.exec(select(CoverageGap)).all() == []
    assert _settle(s, settings, a, code, 1, answer("基层党建由组织部专项检查覆盖；本单位无信访件"), AnswerCheck.COVERAGE) == ""
    assert a.status == ApprovalStatus.DECIDED and a.approver == "李建国" and _actions(s, a.id or 0)[-1] == "审批决定"
    gap = s.exec(select(CoverageGap)).one()
    assert (gap.inspection_id, gap.search_count, gap.by) == (iid, 2, "李建国")
    assert gap.missing_indicators == ["基层党建"] and gap.reason.startswith("基层党建由组织部")
    assert verify_trail(session=s) == []


def test_the_close_out_waits_for_the_units_common_findings_in_the_answers_step(demo_org: Session,
                                                                              settings: Settings) -> None:
    """同意销号 archives the unit: refused while its common findings are not led by a confirmed common
    problem; 暂不销号 is always an answer; once they are led the approval is taken."""
    s = demo_org
    r = build(s, settings)
    edu = r.inspections["区教育局"]
    insp = s.get(tables.Inspection, edu)
    assert insp is not None and insp.stage == Stage.RECTIFICATION
    items = [i.id or 0 for i in s.exec(select(tables.RectificationItem).where(
        tables.RectificationItem.inspection_id == edu, col(tables.RectificationItem.closed_at).is_(None)))]
    report_progress(session=s, settings=settings, inspection=insp, formal=True, by="单位书记", now=NOW,
                    reports=[ProgressIn(item_id=i, status="已完成待核", measure_taken="已整改") for i in items])
    s.commit()

    def opened(attempt: int) -> tuple[tables.Approval, str]:
        a = open_gate(session=s, settings=settings, round_id=r.id, inspection_id=edu, gate=Gate.CLOSE_OUT,
                      attempt=attempt, flow_run_id="abc", now=NOW)
        s.commit()
        (code,) = codes(s, a.id or 0)
        return a, code

    def answer(code: str, approved: bool) -> AnswerFields:
        return AnswerFields(decision="同意销号" if approved else "暂不销号", approver="陶文华", code=code,
                            comment="" if approved else "待共性问题确认", approved=approved)

    a, code = opened(1)
    error = _settle(s, settings, a, code, 0, answer(code, True), AnswerCheck.CLOSE_OUT)
    assert error == (f"该单位有2个共性问题（问题编号{r.f('区教育局', 0)}、{r.f('区教育局', 1)}）尚未归入已确认的共性问题，"
                     "同意销号后即归档；须待巡察办在“共性问题归类”中确认（发出领办函、由分管领导督办）后再同意销号，"
                     "或先选择“暂不销号”")
    assert a.status == ApprovalStatus.PENDING and _actions(s, a.id or 0)[-1] == "审批被拒收"
    assert _settle(s, settings, a, code, 1, answer(code, False), AnswerCheck.CLOSE_OUT) == ""
    assert a.status == ApprovalStatus.DECIDED and a.decision == "暂不销号"
    # Once both are led by confirmed common problems the next close-out is taken.
    for groups in ([archives(r)], [finance(r)]):
        confirm_groups(session=s, settings=settings, round_id=r.id, groups=groups, confirmed_by="巡察办张主任",
                       now=NOW, link="")
        s.commit()
    b, code = opened(2)
    assert _settle(s, settings, b, code, 0, answer(code, True), AnswerCheck.CLOSE_OUT) == ""
    assert b.status == ApprovalStatus.DECIDED and b.decision == "同意销号" and _actions(s, b.id or 0)[-1] == "审批决定"
    assert verify_trail(session=s) == []
