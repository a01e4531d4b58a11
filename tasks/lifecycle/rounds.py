"""Creating a round: validation of the office's form, recusal, then one atomic write."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from models.db import get_or_raise
from models.enums import ConflictKind, Pool, RoundKind, RoundStatus, Stage, TeamRole
from models.errors import DomainError
from models.forms import RoundParams, TeamSpec
from models.settings import Settings
from models.tables import Conflict, Inspection, InspectionRound, Person, Team, TeamMember, Unit
from models.transitions import ROUNDS
from tasks.infra.audit import record_event
from tasks.stationing.talks import talk_counts


def get_round(*, session: Session, round_id: int) -> InspectionRound:
    """A round by its id, or NotFound naming it."""
    rnd = get_or_raise(session, InspectionRound, round_id, "巡察轮次")
    return rnd


def recusal_problems(*, session: Session, person: Person, unit: Unit, year: int | None = None,
                     former_years: int = 3, cross: bool = False) -> list[str]:
    """Why `person` may not inspect `unit` (回避制度); empty when they may. A former unit binds for
    `former_years` after the year the person left it; cross inspection (交叉巡察) also keeps people
    out of their own area."""
    reasons: list[str] = []
    if person.unit_id == unit.id:
        reasons.append(f"{person.name} 须回避 {unit.name}（现工作单位）")
    for c in session.exec(select(Conflict).where(Conflict.person_id == person.id, Conflict.unit_id == unit.id)):
        if (c.kind == ConflictKind.FORMER_UNIT and c.ended_year is not None and year is not None
                and year - c.ended_year >= former_years):
            continue
        reasons.append(f"{person.name} 须回避 {unit.name}（{ConflictKind(c.kind).value}{'：' + c.note if c.note else ''}）")
    if cross and unit.area and person.unit_id is not None:
        home = session.get(Unit, person.unit_id)
        if home is not None and home.area == unit.area:
            reasons.append(f"{person.name} 须回避 {unit.name}（交叉巡察：同属{unit.area}片区）")
    return reasons


# A round is running from its plan's submission until every unit is archived; a returned plan
# (方案退回) never started and a finished round (已完成) is over.
RUNNING = (RoundStatus.PLANNING, RoundStatus.ACTIVE)


def busy_units(session: Session, *, exclude_round: int | None = None) -> dict[str, str]:
    """Unit name -> the running round it is being inspected in (not yet archived there). Look-back
    rounds (回头看) are the documented exception: they return to a unit inspected before, so they
    neither block nor are blocked by another round on the same unit."""
    rows = session.exec(
        select(Unit.name, InspectionRound.name).join(Inspection, col(Inspection.unit_id) == Unit.id)
        .join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
        .where(col(InspectionRound.status).in_(RUNNING), InspectionRound.kind != RoundKind.LOOK_BACK,
               Inspection.stage != Stage.ARCHIVED, InspectionRound.id != (exclude_round or 0))
    ).all()
    return dict(rows)


def busy_people(session: Session, *, exclude_round: int | None = None) -> dict[str, str]:
    """Person name -> the running round whose team they serve on (a person is on one round at a time)."""
    rows = session.exec(
        select(Person.name, InspectionRound.name).join(TeamMember, col(TeamMember.person_id) == Person.id)
        .join(Team, col(Team.id) == TeamMember.team_id).join(InspectionRound, col(InspectionRound.id) == Team.round_id)
        .where(col(InspectionRound.status).in_(RUNNING), InspectionRound.id != (exclude_round or 0))
    ).all()
    return dict(rows)


def validate_round(*, session: Session, params: RoundParams, flow_run_id: str | None = None,
                   former_years: int = 3) -> list[str]:
    """Every problem with the form, in Chinese; empty when the round can be created."""
    problems: list[str] = []
    existing = session.exec(select(InspectionRound).where(InspectionRound.name == params.name)).first()
    if existing and (flow_run_id is None or existing.flow_run_id != flow_run_id):
        problems.append(f"巡察轮次名称已存在：{params.name}")
    if params.end_date < params.start_date:
        problems.append("进驻结束日期早于开始日期")
    seen_units: dict[str, str] = {}
    team_names = [t.name for t in params.teams]
    for name in sorted({n for n in team_names if team_names.count(n) > 1}):
        problems.append(f"巡察组名称重复：{name}")
    placed: dict[str, str] = {}
    look_back = params.kind == RoundKind.LOOK_BACK.value
    same = existing.id if existing and flow_run_id and existing.flow_run_id == flow_run_id else None
    taken_units = {} if look_back else busy_units(session, exclude_round=same)
    taken_people = busy_people(session, exclude_round=same)
    for team in params.teams:
        people_names = [team.leader] + ([team.deputy] if team.deputy else []) + team.members
        units: list[Unit] = []
        for uname in team.units:
            unit = session.exec(select(Unit).where(Unit.name == uname)).first()
            if unit is None:
                problems.append(f"未知的被巡察单位：{uname}")
                continue
            if uname in seen_units:
                problems.append(f"单位“{uname}”同时分配给了 {seen_units[uname]} 和 {team.name}")
            seen_units[uname] = team.name
            if uname in taken_units:
                problems.append(f"单位“{uname}”正在“{taken_units[uname]}”中接受巡察，不能同时编入两轮巡察（回头看除外）")
            units.append(unit)
        for pname in people_names:
            if pname in placed:
                problems.append(f"{pname} 同时在 {placed[pname]} 和 {team.name} 中")
            placed[pname] = team.name
            if pname in taken_people:
                problems.append(f"{pname} 正在参加“{taken_people[pname]}”，不能同时参加两轮巡察")
            person = session.exec(select(Person).where(Person.name == pname)).first()
            if person is None:
                problems.append(f"未知的人员：{pname}")
                continue
            if pname == team.leader and Pool.LEADER.value not in person.pools:
                problems.append(f"{pname} 不在巡察组长库中，不能担任组长")
            for unit in units:
                problems += recusal_problems(session=session, person=person, unit=unit, year=params.start_date.year,
                                             former_years=former_years, cross=params.kind == RoundKind.CROSS.value)
    return problems


def compose_params(*, session: Session, params: RoundParams, former_years: int = 3) -> tuple[RoundParams, dict[str, list[str]]]:
    """The form with its teams filled in by the system when it asked for that (由系统组建巡察组),
    and why each person left out was left out."""
    if params.auto_teams is None:
        return params, {}
    from tasks.planning.term_plan import (  # imports this module's tables only
        compose_for_round,
        composition_teams,
    )

    auto = params.auto_teams
    composition = compose_for_round(session=session, unit_names=auto.units, team_count=auto.team_count,
                                    members_per_team=auto.members_per_team, year=params.start_date.year,
                                    kind=params.kind, former_years=former_years, busy=busy_people(session))
    teams = [TeamSpec.model_validate(t) for t in composition_teams(composition)]
    return params.model_copy(update={"teams": teams, "auto_teams": None}), composition.excluded


def round_problems(*, session: Session, params: RoundParams, former_years: int = 3) -> list[str]:
    """Every reason, in Chinese, why this form cannot start a round now (what `start-round` and the
    gateway check before any run exists): the form as given, and the composition it asks for."""
    problems = validate_round(session=session, params=params, former_years=former_years)
    if not problems and params.auto_teams is not None:  # the composition must be possible too
        composed, _ = compose_params(session=session, params=params, former_years=former_years)
        problems = validate_round(session=session, params=composed, former_years=former_years)
    return problems


def create_round(*, session: Session, params: RoundParams, now: datetime, flow_run_id: str | None,
                 former_years: int = 3) -> InspectionRound:
    """Create the round, its teams and one inspection per unit; re-entrant for the same flow run."""
    if flow_run_id:
        same = session.exec(
            select(InspectionRound).where(InspectionRound.name == params.name, InspectionRound.flow_run_id == flow_run_id)
        ).first()
        if same:
            return same
    problems = [] if params.auto_teams is None else validate_round(
        session=session, params=params.model_copy(update={"teams": []}), former_years=former_years)
    if problems:
        raise DomainError("巡察轮次未创建", problems)
    params, exclusions = compose_params(session=session, params=params, former_years=former_years)
    problems = validate_round(session=session, params=params, former_years=former_years)
    if problems:
        raise DomainError("巡察轮次未创建", problems)
    rnd = InspectionRound(
        name=params.name, kind=RoundKind(params.kind), start_date=params.start_date, end_date=params.end_date,
        status=RoundStatus.PLANNING, flow_run_id=flow_run_id, created_at=now, exclusions=exclusions,
    )
    session.add(rnd)
    session.flush()
    assert rnd.id is not None
    for spec in params.teams:
        team = Team(round_id=rnd.id, name=spec.name)
        session.add(team)
        session.flush()
        assert team.id is not None
        roles = [(spec.leader, TeamRole.LEADER)]
        roles += [(spec.deputy, TeamRole.DEPUTY)] if spec.deputy else []
        roles += [(m, TeamRole.MEMBER) for m in spec.members]
        for pname, role in roles:
            person = session.exec(select(Person).where(Person.name == pname)).one()
            assert person.id is not None
            session.add(TeamMember(team_id=team.id, person_id=person.id, role=role))
        for uname in spec.units:
            unit = session.exec(select(Unit).where(Unit.name == uname)).one()
            assert unit.id is not None
            session.add(Inspection(round_id=rnd.id, unit_id=unit.id, team_id=team.id))
    session.flush()
    return rnd


def teams_markdown(*, session: Session, round_id: int) -> str:
    """The round's teams as the plan approval shows them, with the exclusions of a composed round."""
    rnd = get_round(session=session, round_id=round_id)
    lines = ["| 巡察组 | 组长 | 副组长 | 组员 | 被巡察单位 | 组员专长 |", "|---|---|---|---|---|---|"]
    for team in session.exec(select(Team).where(Team.round_id == round_id).order_by(col(Team.id))):
        people = session.exec(select(Person, TeamMember.role).join(TeamMember, col(TeamMember.person_id) == col(Person.id))
                               .where(TeamMember.team_id == team.id).order_by(col(TeamMember.id))).all()
        by_role: dict[TeamRole, list[str]] = {r: [] for r in TeamRole}
        for p, role in people:
            by_role[TeamRole(role)].append(p.name)
        skills = sorted({s for p, _ in people for s in p.specialties})
        units = session.exec(select(Unit.name).join(Inspection, col(Inspection.unit_id) == col(Unit.id))
                             .where(Inspection.team_id == team.id).order_by(col(Inspection.id))).all()
        lines.append(f"| {team.name} | {'、'.join(by_role[TeamRole.LEADER])} | {'、'.join(by_role[TeamRole.DEPUTY]) or '—'} | "
                     f"{'、'.join(by_role[TeamRole.MEMBER]) or '—'} | {'、'.join(units)} | {'、'.join(skills) or '—'} |")
    text = "\n".join(lines)
    if rnd.exclusions:
        text += ("\n\n巡察组由系统从组长库、人才库组建。**回避及未选配说明**\n\n| 人员 | 原因 |\n|---|---|\n" +
                 "\n".join(f"| {n} | {'；'.join(r)} |" for n, r in sorted(rnd.exclusions.items())))
    return text


def units_table(*, session: Session, settings: Settings, round_id: int) -> list[dict[str, str]]:
    """The round's units for its run page: stage, the gate each waits at, the link to its run."""
    from models.enums import ApprovalStatus, Gate
    from models.tables import Approval

    waiting = {a.inspection_id: Gate(a.gate).value for a in session.exec(
        select(Approval).where(Approval.round_id == round_id, Approval.status == ApprovalStatus.PENDING))}
    rows = session.exec(select(Inspection, Unit).join(Unit, col(Unit.id) == Inspection.unit_id)
                        .where(Inspection.round_id == round_id).order_by(col(Inspection.id))).all()
    for insp, _ in rows:  # waiting for the unit itself, not for an approver
        if (insp.id not in waiting and insp.stage == Stage.RECTIFICATION and insp.plan_submitted_at is None
                and insp.plan_approved_at is None):
            waiting[insp.id] = "（等待单位报送整改方案）"
        elif insp.id not in waiting and insp.stage == Stage.RECTIFICATION and insp.plan_approved_at is not None:
            waiting[insp.id] = "（督促整改中，等待单位报送整改进展）"
    # Talks are confidential: the table counts them, never names a person or says what was said.
    talks = talk_counts(session=session, inspection_ids=[i.id for i, _ in rows if i.id is not None])
    return [{"被巡察单位": unit.name, "所处阶段": Stage(insp.stage).value, "等待审批": waiting.get(insp.id, "—"),
             "个别谈话（已谈/安排）": "{1}/{0}".format(*talks.get(insp.id or 0, (0, 0))),
             "单位巡察流程": settings.run_link(insp.flow_run_id) if insp.flow_run_id else "（尚未启动）"}
            for insp, unit in rows]


def settle_plan(*, session: Session, round_id: int, approved: bool, now: datetime) -> RoundStatus:
    """The leading group's answer to the plan: the round goes ahead or is returned (once)."""
    rnd = get_round(session=session, round_id=round_id)
    if rnd.status == RoundStatus.PLANNING:
        ROUNDS.move(rnd, RoundStatus.ACTIVE if approved else RoundStatus.RETURNED)
        session.add(rnd)
        record_event(session=session, actor="领导小组", action="方案审批", entity="round", entity_id=round_id,
                     now=now, detail={"status": RoundStatus(rnd.status).value})
    return RoundStatus(rnd.status)


def recently_done(*, session: Session, since: datetime) -> list[tuple[int, str]]:
    """(round, its run) of finished rounds whose last unit was archived since `since`: their run
    may still wait for its units (a wake-up lost). The relay wakes those."""
    last = (select(func.max(Inspection.archived_at)).where(Inspection.round_id == InspectionRound.id)
            .scalar_subquery())
    rows = session.execute(select(InspectionRound.id, InspectionRound.flow_run_id).where(
        InspectionRound.status == RoundStatus.DONE, col(InspectionRound.flow_run_id).is_not(None), last >= since)).all()
    return [(int(r), str(f)) for r, f in rows]
