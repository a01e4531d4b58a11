"""Creating a round: validation of the office's form, recusal, then one atomic write."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from models.enums import ConflictKind, Pool, RoundKind, RoundStatus, TeamRole
from models.errors import DomainError
from models.forms import RoundParams
from models.tables import Conflict, Inspection, InspectionRound, Person, Team, TeamMember, Unit


def recusal_problems(*, session: Session, person: Person, unit: Unit) -> list[str]:
    """Why `person` may not inspect `unit` (回避制度); empty when they may."""
    reasons: list[str] = []
    if person.unit_id == unit.id:
        reasons.append(f"{person.name} 须回避 {unit.name}（现工作单位）")
    for c in session.exec(select(Conflict).where(Conflict.person_id == person.id, Conflict.unit_id == unit.id)):
        reasons.append(f"{person.name} 须回避 {unit.name}（{ConflictKind(c.kind).value}{'：' + c.note if c.note else ''}）")
    return reasons


def validate_round(*, session: Session, params: RoundParams, flow_run_id: str | None = None) -> list[str]:
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
            units.append(unit)
        for pname in people_names:
            if pname in placed:
                problems.append(f"{pname} 同时在 {placed[pname]} 和 {team.name} 中")
            placed[pname] = team.name
            person = session.exec(select(Person).where(Person.name == pname)).first()
            if person is None:
                problems.append(f"未知的人员：{pname}")
                continue
            if pname == team.leader and Pool.LEADER.value not in person.pools:
                problems.append(f"{pname} 不在巡察组长库中，不能担任组长")
            for unit in units:
                problems += recusal_problems(session=session, person=person, unit=unit)
    return problems


def create_round(*, session: Session, params: RoundParams, now: datetime, flow_run_id: str | None) -> InspectionRound:
    """Create the round, its teams and one inspection per unit; re-entrant for the same flow run."""
    if flow_run_id:
        same = session.exec(
            select(InspectionRound).where(InspectionRound.name == params.name, InspectionRound.flow_run_id == flow_run_id)
        ).first()
        if same:
            return same
    problems = validate_round(session=session, params=params)
    if problems:
        raise DomainError("巡察轮次未创建", problems)
    rnd = InspectionRound(
        name=params.name, kind=RoundKind(params.kind), start_date=params.start_date, end_date=params.end_date,
        status=RoundStatus.PLANNING, flow_run_id=flow_run_id, created_at=now,
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
