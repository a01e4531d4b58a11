"""Approval gates: the application's own record of who was asked, who answered and what."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from models.clock import aware
from models.enums import ApprovalStatus, Gate, Role
from models.errors import DomainError
from models.settings import Settings
from models.tables import Approval, Inspection, InspectionRound, Unit
from tasks.alerts import enqueue_alert
from tasks.audit import record_event

GATE_APPROVER: dict[Gate, Role] = {
    Gate.PLAN: Role.LEADING_GROUP,
    Gate.STATIONING_DONE: Role.TEAM_LEADER,
    Gate.REPORT: Role.LEADING_GROUP,
    Gate.CLUE_TRANSFER: Role.LEADING_GROUP,
    Gate.RECT_PLAN: Role.OFFICE,
    Gate.CLOSE_OUT: Role.OFFICE,
    Gate.LOOK_BACK: Role.OFFICE,
    Gate.COMMON: Role.OFFICE,
}


def subject_name(session: Session, round_id: int, inspection_id: int | None) -> str:
    rnd = session.get(InspectionRound, round_id)
    assert rnd is not None
    if inspection_id is None:
        return rnd.name
    insp = session.get(Inspection, inspection_id)
    assert insp is not None
    unit = session.get(Unit, insp.unit_id)
    assert unit is not None
    return f"{rnd.name}·{unit.name}"


def open_gate(
    *, session: Session, settings: Settings, round_id: int, inspection_id: int | None, gate: Gate,
    attempt: int, flow_run_id: str | None, now: datetime,
) -> Approval:
    """Record that a gate is waiting and tell its approver; asking twice changes nothing."""
    approval = session.exec(
        select(Approval).where(
            Approval.round_id == round_id, Approval.inspection_id == inspection_id,
            Approval.gate == gate, Approval.attempt == attempt,
        )
    ).first()
    if approval:
        return approval
    approval = Approval(round_id=round_id, inspection_id=inspection_id, gate=gate, attempt=attempt,
                        flow_run_id=flow_run_id, requested_at=now)
    session.add(approval)
    session.flush()
    name = subject_name(session, round_id, inspection_id)
    insp = session.get(Inspection, inspection_id) if inspection_id else None
    enqueue_alert(
        session=session, settings=settings, key=f"gate:{approval.id}:ask", role=GATE_APPROVER[gate],
        title=f"【待审批】{gate.value}", body=f"{name}：“{gate.value}”等待您办理（第{attempt}次）。",
        link=settings.run_link(flow_run_id), now=now, inspection=insp,
    )
    record_event(session=session, actor="系统", action="审批发起", entity="approval", entity_id=approval.id,
                 now=now, detail={"gate": gate.value, "attempt": attempt})
    return approval


def record_decision(*, session: Session, approval_id: int, decision: str, approver: str, comment: str, now: datetime) -> Approval:
    """Store the answer once; a second call for a decided gate returns the first answer."""
    approval = session.get(Approval, approval_id)
    if approval is None:
        raise DomainError(f"审批记录不存在：{approval_id}")
    if approval.status == ApprovalStatus.DECIDED:
        return approval
    approval.status = ApprovalStatus.DECIDED
    approval.decision, approval.approver, approval.comment = decision, approver.strip(), comment.strip()
    approval.decided_at = now
    session.add(approval)
    record_event(session=session, actor=approval.approver, action="审批决定", entity="approval", entity_id=approval.id,
                 now=now, detail={"gate": Gate(approval.gate).value, "decision": decision})
    session.flush()
    return approval


def remind_waiting(*, session: Session, settings: Settings, now: datetime) -> int:
    """Remind approvers of gates waiting past the reminder time; one reminder per elapsed period."""
    period = timedelta(hours=settings.gate_reminder_hours)
    count = 0
    waiting = session.exec(select(Approval).where(Approval.status == ApprovalStatus.PENDING).order_by(col(Approval.id)))
    for approval in waiting:
        due_n = int((now - aware(approval.requested_at)) / period)
        if due_n <= approval.reminders_sent:
            continue
        approval.reminders_sent = due_n
        name = subject_name(session, approval.round_id, approval.inspection_id)
        insp = session.get(Inspection, approval.inspection_id) if approval.inspection_id else None
        hours = int((now - aware(approval.requested_at)).total_seconds() // 3600)
        enqueue_alert(
            session=session, settings=settings, key=f"gate:{approval.id}:remind:{due_n}",
            role=GATE_APPROVER[Gate(approval.gate)], title=f"【催办】{Gate(approval.gate).value}",
            body=f"{name}：“{Gate(approval.gate).value}”已等待{hours}小时，请尽快办理。",
            link=settings.run_link(approval.flow_run_id), now=now, inspection=insp,
        )
        session.add(approval)
        count += 1
    session.flush()
    return count
