"""When 整改销号 has something to decide: items the unit reported done (已完成待核) since the
office last said 暂不销号. Until then the unit run waits without a gate (like the wait for the
plan) and the unit's progress report wakes it; the relay wakes a run whose wake-up was lost.

A leaf: tables only, so the unit flow's state (tasks/lifecycle) and the relay can both ask."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from models.clock import aware
from models.enums import ApprovalStatus, Gate, ItemStatus, Stage
from models.forms import CloseOutApproval
from models.tables import Approval, Inspection, RectificationItem


def _last_refusal(session: Session, inspection_id: int) -> datetime | None:
    """When the office last answered 整改销号 with a refusal (暂不销号), if it did."""
    rows = session.exec(select(Approval.decision, Approval.decided_at).where(
        Approval.inspection_id == inspection_id, Approval.gate == Gate.CLOSE_OUT,
        Approval.status == ApprovalStatus.DECIDED).order_by(col(Approval.decided_at).desc())).all()
    for decision, at in rows:
        if decision not in CloseOutApproval.APPROVE:
            return aware(at) if at else None
        return None  # the last answer approved: whatever is reported done since is new
    return None


def items_to_close(*, session: Session, inspection_id: int) -> int:
    """Items reported 已完成待核 and not yet answered: after a 暂不销号, only those reported again since."""
    refused = _last_refusal(session, inspection_id)
    q = select(RectificationItem.last_report_at).where(
        RectificationItem.inspection_id == inspection_id, RectificationItem.status == ItemStatus.PENDING_CHECK)
    return sum(1 for at in session.exec(q) if refused is None or (at is not None and aware(at) > refused))


def close_outs_due(*, session: Session) -> list[tuple[int, str]]:
    """(inspection, its unit run) for each unit in rectification, plan approved, with items to close
    and no 整改销号 open: its run may still be waiting (a wake-up lost). The relay wakes those."""
    open_gate = select(Approval.inspection_id).where(Approval.gate == Gate.CLOSE_OUT,
                                                     Approval.status == ApprovalStatus.PENDING)
    pending = (select(func.count()).select_from(RectificationItem)
               .where(RectificationItem.inspection_id == Inspection.id,
                      RectificationItem.status == ItemStatus.PENDING_CHECK).scalar_subquery())
    rows = session.execute(select(Inspection.id, Inspection.flow_run_id).where(
        Inspection.stage == Stage.RECTIFICATION, col(Inspection.plan_approved_at).is_not(None),
        col(Inspection.flow_run_id).is_not(None), col(Inspection.id).not_in(open_gate), pending > 0)
        .order_by(col(Inspection.id))).all()
    return [(int(i), str(r)) for i, r in rows if items_to_close(session=session, inspection_id=int(i))]
