"""The term plan (一届任期内全覆盖) and the pools, over the database: what is covered, what is
planned, whether the pace will finish the term, the scheduler's proposal and its approval, and
teams composed for a round from the pools with their history of rounds served.

The planning itself is pure (tasks/planning/compose.py); this module reads the records it needs and
writes the approved result."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, delete, select

from models.enums import ConflictKind, Pool, RoundKind, RoundStatus, TeamRole, UnitKind
from models.errors import DomainError, NotFound
from models.handoffs import RoundPlan
from models.tables import (
    Conflict,
    Inspection,
    InspectionRound,
    LookBack,
    Person,
    Petition,
    PlannedUnit,
    Team,
    TeamMember,
    TermPlan,
    Unit,
)
from tasks.infra.audit import record_event
from tasks.planning.compose import (
    Composition,
    ConflictRec,
    PersonRec,
    PlannedRound,
    UnitRec,
    compose_teams,
    schedule_term,
)

# How much each thing the database knows raises a unit's place in the schedule (重点单位优先).
PETITION_WEIGHT = 1
LOOK_BACK_WEIGHT = 3


# ---------------------------------------------------------------- records from the database


def unit_records(session: Session) -> list[UnitRec]:
    """Every unit, its area, and its priority: the office's mark plus petitions and look-backs."""
    petitions = dict(session.exec(
        select(Inspection.unit_id, func.count(col(Petition.id))).join(Petition, col(Petition.inspection_id) == Inspection.id)
        .group_by(col(Inspection.unit_id))).all())
    look_backs = dict(session.exec(select(LookBack.unit_id, func.count(col(LookBack.id))).group_by(col(LookBack.unit_id))).all())
    out = []
    for u in session.exec(select(Unit).order_by(col(Unit.id))):
        assert u.id is not None
        score = u.priority + PETITION_WEIGHT * petitions.get(u.id, 0) + LOOK_BACK_WEIGHT * look_backs.get(u.id, 0)
        out.append(UnitRec(id=u.id, name=u.name, kind=UnitKind(u.kind).value, area=u.area, priority=score))
    return out


@dataclass
class Service:
    round: str
    year: int
    team: str
    role: str


def service_history(session: Session) -> dict[int, list[Service]]:
    """person id -> the rounds they served in (参加巡察的记录), oldest first."""
    rows = session.execute(  # sqlmodel's select is typed for up to four columns; SQLAlchemy's for any number
        sa_select(col(TeamMember.person_id), col(InspectionRound.name), col(InspectionRound.start_date), col(Team.name),
                  col(TeamMember.role))
        .join(Team, col(Team.id) == TeamMember.team_id)
        .join(InspectionRound, col(InspectionRound.id) == Team.round_id)
        .order_by(col(InspectionRound.start_date), col(InspectionRound.id))
    ).all()
    out: dict[int, list[Service]] = defaultdict(list)
    for pid, rname, start, tname, role in rows:
        out[pid].append(Service(round=rname, year=start.year, team=tname, role=TeamRole(role).value))
    # Look-back teams are kept as names on the look-back (回头看组 is not a Team row).
    ids = {p.name: p.id for p in session.exec(select(Person)) if p.id is not None}
    for lb in session.exec(select(LookBack).order_by(col(LookBack.id))):
        for name in lb.team:
            if name in ids:
                out[ids[name]].append(Service(round="回头看", year=lb.triggered_on.year, team="回头看组", role="组员"))
    return out


def person_records(session: Session) -> list[PersonRec]:
    units = {u.id: u for u in session.exec(select(Unit))}
    history = service_history(session)
    out = []
    for p in session.exec(select(Person).order_by(col(Person.id))):
        assert p.id is not None
        served = history.get(p.id, [])
        home = units.get(p.unit_id)
        out.append(PersonRec(
            id=p.id, name=p.name, unit_id=p.unit_id, area=home.area if home else "",
            leader=Pool.LEADER.value in p.pools, talent=Pool.TALENT.value in p.pools,
            specialties=frozenset(p.specialties), available=p.available,
            rounds_served=len(served), last_served_year=max((s.year for s in served), default=None),
        ))
    return out


def conflict_records(session: Session) -> list[ConflictRec]:
    return [ConflictRec(person_id=c.person_id, unit_id=c.unit_id, kind=ConflictKind(c.kind).value, ended_year=c.ended_year)
            for c in session.exec(select(Conflict))]


# ---------------------------------------------------------------- composing a round's teams


TEAM_NAMES = "一二三四五六七八九十"


def team_name(i: int) -> str:
    return f"第{TEAM_NAMES[i] if i < len(TEAM_NAMES) else i + 1}巡察组"


def compose_for_round(*, session: Session, unit_names: list[str], team_count: int, members_per_team: int,
                      year: int, kind: str, former_years: int, busy: dict[str, str] | None = None) -> Composition:
    """Teams for these units from the pools, with recusal applied and every exclusion explained;
    people in `busy` (name -> the running round they serve on) are kept off."""
    units = {u.name: u for u in unit_records(session)}
    unknown = [n for n in unit_names if n not in units]
    if unknown:
        raise DomainError("无法组建巡察组", [f"未知的被巡察单位：{n}" for n in unknown])
    dupes = sorted({n for n in unit_names if unit_names.count(n) > 1})
    if dupes:
        raise DomainError("无法组建巡察组", [f"被巡察单位重复：{n}" for n in dupes])
    busy = busy or {}
    people = [p for p in person_records(session) if p.name not in busy]
    composition = compose_teams([units[n] for n in unit_names], people, conflict_records(session),
                                n_teams=team_count, members_per_team=members_per_team, year=year,
                                former_years=former_years, cross=kind == RoundKind.CROSS.value)
    for name, round_name in sorted(busy.items()):
        composition.excluded.setdefault(name, []).append(f"正在参加“{round_name}”")
    return composition


def composition_teams(composition: Composition) -> list[dict[str, Any]]:
    """The composition as the round form's teams (巡察组及被巡察单位)."""
    return [{"name": team_name(i), "leader": t.leader.name, "deputy": "", "members": [m.name for m in t.members],
             "units": [u.name for u in t.units]} for i, t in enumerate(composition.teams)]


def composition_markdown(composition: Composition) -> str:
    lines = ["| 巡察组 | 组长 | 组员 | 被巡察单位 | 具备专长 | 缺少专长 |", "|---|---|---|---|---|---|"]
    for i, t in enumerate(composition.teams):
        lines.append(f"| {team_name(i)} | {t.leader.name} | {'、'.join(m.name for m in t.members) or '—'} | "
                     f"{'、'.join(u.name for u in t.units)} | {'、'.join(sorted(t.covered)) or '—'} | "
                     f"{'、'.join(sorted(t.missing)) or '—'} |")
    if composition.excluded:
        lines += ["", "**回避及未选配说明**", "", "| 人员 | 原因 |", "|---|---|"]
        lines += [f"| {name} | {'；'.join(reasons)} |" for name, reasons in sorted(composition.excluded.items())]
    return "\n".join(lines)


# ---------------------------------------------------------------- the term plan


def create_term(*, session: Session, name: str, first_year: int, last_year: int, rounds_per_year: int,
                units_per_round: int, mix: dict[str, int], actor: str, now: datetime) -> TermPlan:
    problems = []
    if session.exec(select(TermPlan).where(TermPlan.name == name.strip())).first():
        problems.append(f"任期计划名称已存在：{name}")
    if not name.strip():
        problems.append("请填写任期计划名称")
    if last_year < first_year:
        problems.append(f"任期结束年份{last_year}早于开始年份{first_year}")
    if rounds_per_year < 1 or units_per_round < 1:
        problems.append("每年轮次数和每轮单位数应至少为1")
    kinds = {k.value for k in UnitKind}
    problems += [f"组合规则中的单位类型未知：{k}（可选：{'、'.join(sorted(kinds))}）" for k in mix if k not in kinds]
    problems += [f"组合规则中“{k}”的个数应为正整数" for k, n in mix.items() if n < 1]
    if sum(mix.values()) > units_per_round:
        problems.append(f"组合规则每轮共{sum(mix.values())}个单位，超过每轮单位数{units_per_round}")
    if problems:
        raise DomainError("任期计划未创建", problems)
    term = TermPlan(name=name.strip(), first_year=first_year, last_year=last_year, rounds_per_year=rounds_per_year,
                    units_per_round=units_per_round, mix=dict(mix), created_at=now)
    session.add(term)
    session.flush()
    record_event(session=session, actor=actor, action="创建任期计划", entity="term_plan", entity_id=term.id, now=now,
                 detail={"name": term.name, "years": f"{first_year}-{last_year}"})
    return term


def get_term(session: Session, name_or_id: str | int) -> TermPlan:
    term = (session.get(TermPlan, name_or_id) if isinstance(name_or_id, int)
            else session.exec(select(TermPlan).where(TermPlan.name == name_or_id)).first())
    if term is None:
        raise NotFound(f"任期计划不存在：{name_or_id}")
    return term


def covered_units(session: Session, term: TermPlan, *, pending: bool = False) -> dict[int, str]:
    """unit id -> the round that covered it within the term: a round whose plan the leading group
    approved (look-backs do not count). With `pending`, the rounds still waiting for that approval."""
    statuses = [RoundStatus.PLANNING] if pending else [RoundStatus.ACTIVE, RoundStatus.DONE]
    rows = session.exec(
        select(col(Inspection.unit_id), col(InspectionRound.name), col(InspectionRound.start_date))
        .join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
        .where(InspectionRound.kind != RoundKind.LOOK_BACK, col(InspectionRound.status).in_(statuses))
        .order_by(col(InspectionRound.start_date))
    ).all()
    out: dict[int, str] = {}
    for uid, rname, start in rows:
        if term.first_year <= start.year <= term.last_year:
            out.setdefault(uid, rname)
    return out


@dataclass
class Coverage:
    term: str
    first_year: int
    last_year: int
    rows: list[dict[str, Any]]  # by unit kind: 单位类型, 单位总数, 已巡察, 已排入计划, 尚未安排, 覆盖率
    total: int
    covered: int
    planned: int
    warnings: list[str] = field(default_factory=list)


def _pct(done: int, total: int) -> str:
    return f"{done * 100 / total:.2f}%" if total else "—"


def coverage(*, session: Session, term_id: int, as_of: date) -> Coverage:
    """Covered / planned / not yet planned by unit kind, and whether the pace finishes the term."""
    term = get_term(session, term_id)
    covered = covered_units(session, term)
    # Planned: in the approved schedule, or in a round whose plan awaits approval.
    planned = ({p.unit_id for p in session.exec(select(PlannedUnit).where(PlannedUnit.term_id == term.id))}
               | set(covered_units(session, term, pending=True))) - set(covered)
    units = session.exec(select(Unit.id, Unit.kind)).all()
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for uid, kind in units:
        c = by_kind[UnitKind(kind).value]
        c["total"] += 1
        c["covered" if uid in covered else "planned" if uid in planned else "open"] += 1
    rows = [{"单位类型": k, "单位总数": c["total"], "已巡察": c["covered"], "已排入计划": c["planned"],
             "尚未安排": c["open"], "覆盖率": _pct(c["covered"], c["total"])}
            for k, c in sorted(by_kind.items(), key=lambda kv: [u.value for u in UnitKind].index(kv[0]))]
    total, done = len(units), len(covered)
    result = Coverage(term=term.name, first_year=term.first_year, last_year=term.last_year, rows=rows, total=total,
                      covered=done, planned=len(planned))
    result.warnings = pace_warnings(term=term, total=total, covered=done, as_of=as_of)
    return result


def pace_warnings(*, term: TermPlan, total: int, covered: int, as_of: date) -> list[str]:
    """Warnings when the units left cannot be covered in the time left: at the pace so far, and
    at the planned capacity (rounds per year × units per round)."""
    left = total - covered
    if left <= 0:
        return []
    start, end = date(term.first_year, 1, 1), date(term.last_year, 12, 31)
    if as_of > end:
        return [f"任期已于{term.last_year}年结束，仍有{left}个单位未巡察"]
    years_left = ((end - max(as_of, start)).days + 1) / 365.25
    warnings = []
    capacity = int(years_left * term.rounds_per_year * term.units_per_round + 1e-9)
    if capacity < left:
        warnings.append(f"按计划容量（每年{term.rounds_per_year}轮、每轮{term.units_per_round}个单位），任期剩余约"
                        f"{years_left:.1f}年最多还能巡察{capacity}个单位，尚有{left}个未巡察，差{left - capacity}个")
    elapsed = (as_of - start).days / 365.25
    if elapsed >= 0.5:  # before half a year there is no pace to speak of
        pace = covered / elapsed
        reach = int(pace * years_left + 1e-9)
        if reach < left:
            warnings.append(f"按当前进度（每年约{pace:.1f}个单位），任期剩余约{years_left:.1f}年只能再巡察约{reach}个单位，"
                            f"尚有{left}个未巡察，差约{left - reach}个，需加快进度")
    return warnings


def coverage_markdown(cov: Coverage) -> str:
    head = (f"# {cov.term}（{cov.first_year}—{cov.last_year}年）全覆盖情况\n\n"
            f"共{cov.total}个单位：已巡察 **{cov.covered}** 个（{_pct(cov.covered, cov.total)}），已排入计划 {cov.planned} 个，"
            f"尚未安排 {cov.total - cov.covered - cov.planned} 个。\n\n")
    warn = "".join(f"> ⚠ {w}\n>\n" for w in cov.warnings) + ("\n" if cov.warnings else "")
    cols = list(cov.rows[0]) if cov.rows else []
    table = ("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n" +
             "\n".join("| " + " | ".join(str(r[c]) for c in cols) + " |" for r in cov.rows)) if cols else ""
    return head + warn + table


def rounds_held(session: Session, year: int) -> int:
    """Rounds of a year already started (not counting look-backs or plans sent back)."""
    return len(session.exec(select(InspectionRound.id).where(
        InspectionRound.kind != RoundKind.LOOK_BACK, col(InspectionRound.status) != RoundStatus.RETURNED,
        col(InspectionRound.start_date) >= date(year, 1, 1), col(InspectionRound.start_date) <= date(year, 12, 31))).all())


def first_open_year(term: TermPlan, as_of: date) -> int:
    return max(term.first_year, as_of.year)


def propose(*, session: Session, term_id: int, as_of: date) -> list[PlannedRound]:
    """The scheduler's proposal: the remaining rounds from this year on, covering every unit not yet
    covered exactly once, following the term's mix rule, priority units first."""
    term = get_term(session, term_id)
    first = first_open_year(term, as_of)
    if first > term.last_year:
        raise DomainError(f"{term.name}已于{term.last_year}年结束，无法再排程")
    taken = set(covered_units(session, term)) | set(covered_units(session, term, pending=True))
    return schedule_term(unit_records(session), covered=taken, first_year=first,
                         first_round=rounds_held(session, first) + 1 if first == as_of.year else 1,
                         last_year=term.last_year, rounds_per_year=term.rounds_per_year,
                         units_per_round=term.units_per_round, mix=dict(term.mix))


def plan_markdown(plan: list[PlannedRound]) -> str:
    lines = ["| 轮次 | 单位数 | 被巡察单位 |", "|---|---|---|"]
    for r in plan:
        lines.append(f"| {r.year}年第{r.number}轮 | {len(r.units)} | "
                     f"{'、'.join(f'{u.name}（{u.kind}）' for u in r.units)} |")
    return "\n".join(lines)


EDIT_LINE = re.compile(r"^\s*(\d{4})\s*年?\s*[-第]?\s*(\d{1,2})\s*轮?\s*[:：]\s*(.*)$")


def apply_edits(*, session: Session, term_id: int, plan: list[PlannedRound], edits: str) -> list[PlannedRound]:
    """The office's edits, one line per round to replace: `2027年第2轮：单位甲、单位乙`. A unit
    named in an edited round leaves the round it was in; every unit must still be placed once and
    each round stay within the term's capacity."""
    term = get_term(session, term_id)
    if not edits.strip():
        return plan
    units = {u.name: u for u in unit_records(session)}
    rounds = {(r.year, r.number): list(r.units) for r in plan}
    problems: list[str] = []
    replaced: dict[tuple[int, int], list[UnitRec]] = {}
    for n, line in enumerate(edits.strip().splitlines(), 1):
        if not line.strip():
            continue
        m = EDIT_LINE.match(line)
        if not m:
            problems.append(f"第{n}行无法识别：“{line.strip()}”（格式如：2027年第2轮：单位甲、单位乙）")
            continue
        year, number = int(m.group(1)), int(m.group(2))
        if not (term.first_year <= year <= term.last_year) or not 1 <= number <= term.rounds_per_year:
            problems.append(f"第{n}行：{year}年第{number}轮不在任期计划内（{term.first_year}—{term.last_year}年，每年{term.rounds_per_year}轮）")
            continue
        names = [x.strip() for x in re.split(r"[,，、;；\s]+", m.group(3)) if x.strip()]
        unknown = [x for x in names if x not in units]
        problems += [f"第{n}行：未知的单位“{x}”" for x in unknown]
        if len(names) > term.units_per_round:
            problems.append(f"第{n}行：{year}年第{number}轮有{len(names)}个单位，超过每轮{term.units_per_round}个")
        replaced[(year, number)] = [units[x] for x in names if x in units]
    if problems:
        raise DomainError("排程调整有误", problems)
    moved = {u.id for us in replaced.values() for u in us}
    for key in rounds:
        rounds[key] = [u for u in rounds[key] if u.id not in moved]
    before = {u.id for us in (r.units for r in plan) for u in us}
    for key, us in replaced.items():
        dropped = [u.name for u in rounds.get(key, []) if u.id not in moved]
        rounds[key] = us
        for name in dropped:  # a unit left out of an edited round must still go somewhere
            problems.append(f"{name}原在{key[0]}年第{key[1]}轮，调整后没有安排到任何轮次")
    placed = Counter(u.id for us in rounds.values() for u in us)
    names_by_id = {u.id: u.name for u in units.values()}
    problems += [f"{names_by_id[i]}被安排了{c}次" for i, c in placed.items() if c > 1]
    covered = covered_units(session, term)
    problems += [f"{names_by_id[i]}已在本任期巡察过，不能再排入" for i in set(placed) - before if i in covered]
    if problems:
        raise DomainError("排程调整有误", problems)
    return [PlannedRound(year=y, number=n, units=us) for (y, n), us in sorted(rounds.items()) if us]


def save_plan(*, session: Session, term_id: int, plan: list[PlannedRound], actor: str, now: datetime) -> int:
    """Replace the term's planned units with the approved plan; units already covered keep no entry."""
    term = get_term(session, term_id)
    session.exec(delete(PlannedUnit).where(col(PlannedUnit.term_id) == term.id))
    n = 0
    for r in plan:
        for u in r.units:
            assert term.id is not None
            session.add(PlannedUnit(term_id=term.id, unit_id=u.id, year=r.year, number=r.number))
            n += 1
    term.approved_at, term.approved_by = now, actor
    session.add(term)
    session.flush()
    record_event(session=session, actor=actor, action="批准全覆盖排程", entity="term_plan", entity_id=term.id, now=now,
                 detail={"rounds": len(plan), "units": n})
    return n


def plan_to_records(plan: list[PlannedRound]) -> tuple[RoundPlan, ...]:
    """A plan as plain data (unit ids only) so a flow can carry it between tasks."""
    return tuple(RoundPlan(year=r.year, number=r.number, unit_ids=tuple(u.id for u in r.units)) for r in plan)


def plan_from_records(session: Session, records: Sequence[RoundPlan]) -> list[PlannedRound]:
    units = {u.id: u for u in unit_records(session)}
    return [PlannedRound(year=r.year, number=r.number, units=[units[i] for i in r.unit_ids]) for r in records]
