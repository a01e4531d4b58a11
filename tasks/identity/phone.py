"""The one place a one-time code still serves: a leader answering a 领导小组 gate from the link in
the alert on a phone, without a full login. Only gates with a plain decision form; the others
are answered after logging in. The code and the approver are checked as the flow checks them
(tasks/lifecycle/approvals.py check_approver: a wrong code counts, five void it and a new one is
sent, at most one an hour), but every refusal reads the same (WRONG). The gateway slows attempts
per client and per gate (tasks/identity/throttle.py) and shows what is decided only after a
valid code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from sqlmodel import Session

from models.access import CODE_GATES, GATE_ROLES, Forbidden
from models.enums import AccessRole, Gate
from models.forms import NEEDS_COMMENT, ClueTransferApproval, GateForm, PlanApproval, ReportReview
from models.settings import Settings
from models.tables import Approval
from models.text import first_control
from tasks.identity.door import waiting_gate
from tasks.infra.audit import record_refusal
from tasks.lifecycle.approvals import check_approver, subject_name
from tasks.lifecycle.gate_summary import Summary, gate_summary

FORMS: dict[Gate, type[GateForm]] = {Gate.PLAN: PlanApproval, Gate.REPORT: ReportReview,
                                     Gate.CLUE_TRANSFER: ClueTransferApproval}
PHONE_GATES = {g: FORMS[g] for g in CODE_GATES if AccessRole.LEADING_GROUP in GATE_ROLES[g]}


@dataclass(frozen=True)
class PhoneGate:
    gate: str
    subject: str
    options: list[str]  # empty: not answerable here
    notice: str = ""
    summary: Summary | None = None  # what the decision is about, read as the page opens


def describe(*, session: Session, settings: Settings, flow_run_id: str) -> PhoneGate:
    approval = waiting_gate(session=session, flow_run_id=str(flow_run_id))
    if approval is None:
        return PhoneGate("审批", "", [], "该审批已办理或不在等待中")
    gate = Gate(approval.gate)
    subject = subject_name(session, approval.round_id, approval.inspection_id, approval.term_id)
    form = PHONE_GATES.get(gate)
    if form is None:
        return PhoneGate(gate.value, subject, [], "该审批请登录后在流程页面办理")
    summary = gate_summary(session=session, settings=settings, gate=gate, round_id=approval.round_id,
                           inspection_id=approval.inspection_id)
    return PhoneGate(gate.value, subject, list(get_args(form.model_fields["decision"].annotation)), summary=summary)


# The one answer to a stranger's name, a name without the right, a wrong, void or expired code:
# the page tells nobody which names exist or what role they hold (the audit keeps the reason).
WRONG = "审批人或验证码不正确（验证码过期或连续输错时，新的验证码会发给审批人）"


class BadDecision(Forbidden):
    """Name and code were right, the decision's form was not: the page keeps showing the matter."""

    def __init__(self, reason: str, approver: str) -> None:
        super().__init__(reason)
        self.approver = approver


def _gate(session: Session, flow_run_id: str) -> Approval:
    approval = waiting_gate(session=session, flow_run_id=str(flow_run_id))
    if approval is None or Gate(approval.gate) not in PHONE_GATES:
        raise Forbidden("该审批不能用验证码办理")
    return approval


def _approver(*, session: Session, settings: Settings, approval: Approval, form: dict[str, str], now: datetime
              ) -> tuple[str, str]:
    """The approver's name and code, once both are right; Forbidden (one answer for all) otherwise."""
    approver, code = form.get("approver", "").strip()[:50], form.get("code", "").strip()[:12]
    if not approver or not code:
        raise Forbidden("请填写审批人姓名和提醒中的验证码")
    assert approval.id is not None
    problem = check_approver(session=session, settings=settings, approval_id=approval.id, approver=approver,
                             code=code, now=now)
    if problem:
        record_refusal(session=session, actor=approver, action="手机审批（被拒绝）", entity="approval",
                       entity_id=approval.id, now=now, detail={"reason": problem})
        raise Forbidden(WRONG)
    return approver, code


def verify(*, session: Session, settings: Settings, flow_run_id: str, form: dict[str, str], now: datetime) -> str:
    """The approver's name when name and code are right (the page then shows what is decided)."""
    approval = _gate(session, flow_run_id)
    return _approver(session=session, settings=settings, approval=approval, form=form, now=now)[0]


def check(*, session: Session, settings: Settings, flow_run_id: str, form: dict[str, str], now: datetime
          ) -> dict[str, Any]:
    """The run input to resume with, once name and code are right; Forbidden with the reason."""
    approval = _gate(session, flow_run_id)
    approver, code = _approver(session=session, settings=settings, approval=approval, form=form, now=now)
    options = describe(session=session, settings=settings, flow_run_id=flow_run_id).options
    decision, comment = form.get("decision", ""), form.get("comment", "").strip()[:2000]
    if decision not in options:
        raise BadDecision("请选择审批决定", approver)
    if decision in NEEDS_COMMENT and not comment:
        raise BadDecision(f"选择“{decision}”时必须填写意见", approver)
    bad = first_control({"意见": comment})
    if bad is not None:
        raise BadDecision(f"“{bad[0]}”{bad[1]}，请删除后重新提交", approver)
    return {"decision": decision, "approver": approver, "code": code, "comment": comment}
