"""What the gateway checks before it forwards a call that changes something: the logged-in
person's role (models/access.py) and, for a team role, that the record is their own team's; for
a unit contact, that it is their own unit's."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from models.access import Forbidden, Scope, require_answer, require_start
from models.enums import AccessRole, ApprovalStatus, Gate
from models.tables import Account, Approval, Inspection, InspectionRound, Unit
from tasks.infra.scope import in_own_unit, serves_on


def _named_inspection(session: Session, parameters: dict[str, Any]) -> Inspection | None:
    """The inspection a deployment's form names (round and unit), if it names one."""
    inner = parameters.get("params")
    params: dict[str, Any] = inner if isinstance(inner, dict) else parameters
    round_name, unit_name = params.get("round_name"), params.get("unit_name")
    if not isinstance(round_name, str) or not isinstance(unit_name, str):
        return None
    return session.exec(select(Inspection).join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
                        .join(Unit, col(Unit.id) == Inspection.unit_id)
                        .where(InspectionRound.name == round_name.strip(), Unit.name == unit_name.strip())).first()


def authorise_start(*, session: Session, account: Account, deployment: str, parameters: dict[str, Any]) -> None:
    """May this person start a run of `deployment` with these parameters? Forbidden if not."""
    scope = require_start(AccessRole(account.role), deployment)
    if scope is Scope.OWN_TEAM:
        insp = _named_inspection(session, parameters)
        if insp is None or not serves_on(session=session, name=account.name, inspection=insp):
            raise Forbidden(f"“{account.role}”只能为本人所在巡察组负责的被巡察单位运行“{deployment}”，"
                            "表单中的轮次和单位不由您所在的巡察组巡察")
    if scope is Scope.OWN_UNIT:
        insp = _named_inspection(session, parameters)
        if insp is None or not in_own_unit(session=session, account=account, inspection=insp):
            raise Forbidden(f"“{account.role}”只能为本人所在的被巡察单位运行“{deployment}”，"
                            "表单中的轮次和单位不是您所在的单位（或尚未登记您所在的单位）")


def waiting_gate(*, session: Session, flow_run_id: str) -> Approval | None:
    """The gate this flow run is waiting at, as the application recorded it."""
    return session.exec(select(Approval).where(Approval.flow_run_id == flow_run_id,
                                               Approval.status == ApprovalStatus.PENDING)
                        .order_by(col(Approval.id).desc())).first()


def authorise_answer(*, session: Session, account: Account, flow_run_id: str) -> Approval:
    """The waiting gate of this run, if this person may answer it; Forbidden otherwise."""
    approval = waiting_gate(session=session, flow_run_id=flow_run_id)
    if approval is None:
        raise Forbidden("该流程运行没有等待办理的审批，不能恢复")
    gate = Gate(approval.gate)
    insp = session.get(Inspection, approval.inspection_id) if approval.inspection_id else None
    on_team = insp is not None and serves_on(session=session, name=account.name, inspection=insp)
    require_answer(AccessRole(account.role), gate, on_team=on_team)
    return approval
