"""One answer to a gate settled in one transaction: the gateway's receipt (or else the one-time
code), the approver's role and scope, the gate's own check (indicator coverage, common findings
before a close-out, the term plan's edits, the look-back's item checks, the common-problem
groups), then the decision and its audit row — or the refusal, its audit row and alert. Either
all of it is written or none (a retry starts again on the row as it is). Every gate's answer is
settled here, by the one task 办理审批 (flows/lifecycle/gates.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session

from models.enums import Gate
from models.errors import DomainError
from models.forms import NEEDS_COMMENT, CommonGroupIn, ItemCheckIn
from models.handoffs import RoundPlan
from models.settings import Settings
from models.tables import Approval
from tasks.identity.receipts import check_receipt
from tasks.infra.audit import PENDING_HEAD
from tasks.lifecycle.approvals import check_approver, record_decision, refuse_answer
from tasks.planning.term_plan import apply_edits, plan_from_records
from tasks.stationing.indicators import settle_gap
from tasks.supervision.common_problems import close_out_refusal, confirm_groups
from tasks.supervision.look_back import check_problems


class AnswerCheck(StrEnum):
    """A gate's own rule on the answer, made inside the answer's transaction."""

    NONE = ""
    COVERAGE = "coverage"  # 巡察组提交报告: an indicator not examined needs a reason (tasks/stationing/indicators.py)
    CLOSE_OUT = "close-out"  # 同意销号: the unit's common findings led first (tasks/supervision/common_problems.py)
    TERM_EDITS = "term-edits"  # 全覆盖排程: the office's edits apply to the proposal (tasks/planning/term_plan.py)
    LOOK_BACK = "look-back"  # 回头看核查: every item verified once (tasks/supervision/look_back.py)
    COMMON = "common"  # 共性问题归类: the confirmation would be taken (a dry run, rolled back)


@dataclass(frozen=True)
class CheckOn:
    """What a gate's own check reads beside the approval row and the answer: the proposal the
    term plan's edits change, the look-back whose items are checked."""

    plan: tuple[RoundPlan, ...] = ()
    look_back_id: int = 0


@dataclass(frozen=True)
class GateRef:
    """Which asking an answer is for: a gate's attempt in a round, an inspection or a term plan
    (the approval row open_gate made for it)."""

    gate: Gate
    attempt: int
    round_id: int | None = None
    inspection_id: int | None = None
    term_id: int | None = None


@dataclass(frozen=True)
class AnswerFields:
    """What the form said: the decision, the name and code typed, the comment, and the fields a
    gate's own check reads. No confidential material: gate forms carry none."""

    decision: str
    approver: str
    code: str
    comment: str
    approved: bool
    gap_reason: str = ""
    adjusted: bool = False  # 按调整批准 (the term plan's form)
    edits: str = ""  # 排程调整
    checks: tuple[ItemCheckIn, ...] = ()  # 逐项核查结论 (the look-back's form)
    groups: tuple[CommonGroupIn, ...] = ()  # the common problems as confirmed (the grouping's form)


@dataclass(frozen=True)
class Settled:
    """The outcome: who decided (the receipt's person, else the name typed) or why not."""

    approver: str
    error: str  # empty: decided
    label: str  # the gate's label for the run's log


def answer_problem(decision: str, approver: str, comment: str) -> str:
    """The form's own rules, which the server's JSON-schema check cannot express; empty when fine."""
    if not approver.strip():
        return "请登录后办理，或填写审批人姓名和验证码"
    if decision in NEEDS_COMMENT and not comment.strip():
        return f"选择“{decision}”时必须填写意见"
    return ""


def _dry_run_common(session: Session, settings: Settings, approval: Approval, answer: AnswerFields, approver: str,
                    now: datetime, link: str) -> str:
    """The grouping's confirmation made in a savepoint and rolled back: its problems, or empty when
    it would be taken. The audit chain's pending head (set by the rows written and rolled back) is
    put back as it was, or the head file would name a row that was never committed."""
    if approval.round_id is None:
        raise DomainError("共性问题归类的核对须属于一个轮次")
    head = session.info.get(PENDING_HEAD)
    savepoint = session.begin_nested()
    try:
        confirm_groups(session=session, settings=settings, round_id=approval.round_id, groups=list(answer.groups),
                       confirmed_by=approver, now=now, link=link, attempt=approval.attempt)
    except DomainError as exc:
        return "；".join(exc.problems) or str(exc)
    finally:
        savepoint.rollback()
        session.info.pop(PENDING_HEAD, None)
        if head is not None:
            session.info[PENDING_HEAD] = head
    return ""


def _gate_check(session: Session, settings: Settings, approval: Approval, check: AnswerCheck, on: CheckOn,
                answer: AnswerFields, approver: str, now: datetime, link: str) -> str:
    if check is AnswerCheck.NONE:
        return ""
    if check is AnswerCheck.TERM_EDITS:
        if not answer.adjusted or approval.term_id is None:
            return ""
        try:
            apply_edits(session=session, term_id=approval.term_id, plan=plan_from_records(session, on.plan),
                        edits=answer.edits)
        except DomainError as exc:
            return "；".join(exc.problems) or str(exc)
        return ""
    if check is AnswerCheck.LOOK_BACK:
        return "；".join(check_problems(session=session, look_back_id=on.look_back_id, checks=list(answer.checks)))
    if check is AnswerCheck.COMMON:
        return _dry_run_common(session, settings, approval, answer, approver, now, link)
    if approval.inspection_id is None:
        raise DomainError(f"“{Gate(approval.gate).value}”的核对须属于一个被巡察单位")
    if check is AnswerCheck.COVERAGE:
        # The stationing gate is asked once per search: its attempt is the search count.
        return settle_gap(session=session, inspection_id=approval.inspection_id, search_count=approval.attempt,
                          reason_text=answer.gap_reason, by=approver, now=now)
    return close_out_refusal(session=session, inspection_id=approval.inspection_id, approved=answer.approved)


def settle_answer(*, session: Session, settings: Settings, approval_id: int, flow_run_id: str, pause_key: str,
                  try_no: int, answer: AnswerFields, check: AnswerCheck, now: datetime,
                  on: CheckOn = CheckOn()) -> Settled:
    """Take the answer or refuse it, in the caller's one transaction."""
    found = check_receipt(session=session, settings=settings, approval_id=approval_id, flow_run_id=flow_run_id,
                          pause_key=pause_key)
    approver = found.person or answer.approver
    error = (found.problem or answer_problem(answer.decision, approver, answer.comment)
             or check_approver(session=session, settings=settings, approval_id=approval_id, approver=approver,
                               code=answer.code, now=now, logged_in=bool(found.person)))
    if not error:
        approval = session.get(Approval, approval_id)
        assert approval is not None  # check_approver said so
        error = _gate_check(session, settings, approval, check, on, answer, approver, now,
                            settings.run_link(flow_run_id))
    if error:
        label = refuse_answer(session=session, settings=settings, approval_id=approval_id, try_no=try_no,
                              approver=approver, reason=error, now=now)
        return Settled(approver, error, label)
    record_decision(session=session, approval_id=approval_id, decision=answer.decision, approver=approver,
                    comment=answer.comment, now=now, via="登录" if found.person else "验证码")
    return Settled(approver.strip(), "", "")
