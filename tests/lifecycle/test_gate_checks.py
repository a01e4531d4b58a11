"""A gate's own check made in the answer's one step (tasks/lifecycle/answers.py settle_answer): the
term plan's edits and the common-problem groups are checked inside the transaction that takes or
refuses the answer; a refused answer writes its refusal only, a taken one its decision only (the
plan and the groups are written later by their own steps)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, col, select

from models import tables
from models.enums import ApprovalStatus, Gate, GroupingStatus
from models.forms import CommonGroupIn
from models.settings import Settings
from tasks.infra.audit import verify_trail
from tasks.lifecycle.answers import AnswerCheck, AnswerFields, CheckOn, settle_answer
from tasks.lifecycle.approvals import open_gate
from tasks.planning import term_plan
from tasks.supervision.common_problems import register_due
from tests.conftest import HOUR, NOW
from tests.lifecycle.test_gate_codes import codes
from tests.planning.test_term_plan import make_term
from tests.supervision.test_common_problem_timing import party_building
from tests.supervision.test_common_problems import archives, build


def _actions(s: Session, approval_id: int) -> list[str]:
    return [e.action for e in s.exec(select(tables.AuditEvent).where(
        tables.AuditEvent.entity == "approval", tables.AuditEvent.entity_id == approval_id).order_by(col(tables.AuditEvent.id)))]


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
