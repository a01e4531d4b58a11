"""What the gateway checks before it forwards a call that changes something: the logged-in
person's role (models/access.py) and, for a team role, that the record is their own team's; for
a unit contact, that it is their own unit's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from models.access import (
    DEPLOYMENT_ACTIONS,
    GATE_ROLES,
    Forbidden,
    Scope,
    allowed,
    require_answer,
    require_start,
)
from models.enums import AccessRole, ApprovalStatus, Gate
from models.tables import Account, Approval, Inspection, InspectionRound, Person, TeamMember, Unit
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


# Reads --------------------------------------------------------------------------------------------
# A team role reads only the runs of its own round's units: the round's run, its units' runs (both
# known to the application by id), the runs of any gate its role answers everywhere (GATE_ROLES
# scope ALL: a 组长's look-backs), and the runs started through the gateway for one of those units
# (登记问题 …), which carry the unit's tag (`unit_tag`, set when the gateway forwards the start).

UNIT_TAG_PREFIX = "单位:"


def unit_tag(round_name: str, unit_name: str) -> str:
    """The tag of a run about one unit in one round (names are not confidential)."""
    return f"{UNIT_TAG_PREFIX}{round_name.strip()}·{unit_name.strip()}"


def start_tags(parameters: dict[str, Any], given: Any) -> list[str]:
    """The tags a run started through the gateway gets: the unit's tag when its form names a round
    and a unit, and none of the scope tags typed by the person (those are the gateway's to give)."""
    tags = [t for t in given if isinstance(t, str) and not t.startswith(UNIT_TAG_PREFIX)] \
        if isinstance(given, list) else []
    inner = parameters.get("params")
    params: dict[str, Any] = inner if isinstance(inner, dict) else parameters
    round_name, unit_name = params.get("round_name"), params.get("unit_name")
    if isinstance(round_name, str) and isinstance(unit_name, str) and round_name.strip() and unit_name.strip():
        tags.append(unit_tag(round_name, unit_name))
    return tags


@dataclass(frozen=True)
class RunScope:
    """The flow runs a team role may read: these ids, and the runs tagged with one of these tags."""

    run_ids: frozenset[str]
    tags: tuple[str, ...]


def run_scope(*, session: Session, account: Account) -> RunScope:
    role = AccessRole(account.role)
    rows = session.exec(
        select(Inspection, InspectionRound, Unit)
        .join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
        .join(Unit, col(Unit.id) == Inspection.unit_id)
        .join(TeamMember, col(TeamMember.team_id) == Inspection.team_id)
        .join(Person, col(Person.id) == TeamMember.person_id)
        .where(Person.name == account.name.strip())).all()
    ids = {i.flow_run_id for i, _, _ in rows} | {r.flow_run_id for _, r, _ in rows}
    inspections = [i.id for i, _, _ in rows]
    rounds = list({r.id for _, r, _ in rows})
    # Gates of these units and rounds (a unit run started again has the later run's id there).
    ids |= set(session.exec(select(Approval.flow_run_id).where(
        col(Approval.inspection_id).in_(inspections)
        | (col(Approval.round_id).in_(rounds) & col(Approval.inspection_id).is_(None)))).all())
    everywhere = [g for g, roles in GATE_ROLES.items() if roles.get(role) is Scope.ALL]
    if everywhere:
        ids |= set(session.exec(select(Approval.flow_run_id).where(col(Approval.gate).in_(everywhere))).all())
    return RunScope(frozenset(str(i) for i in ids if i),
                    tuple(sorted({unit_tag(r.name, u.name) for _, r, u in rows})))


def runnable_deployments(role: AccessRole) -> list[str]:
    """The deployments (by name) this role may start from the UI: the ones it may read."""
    return [name for name, action in DEPLOYMENT_ACTIONS.items() if action is not None and allowed(role, action)]
