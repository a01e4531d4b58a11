"""Planning for full coverage and composing teams with recusal, as pure functions over plain
records (the database adapters and forms build on these).

`compose_teams` proposes the teams of one round: a leader from the leader pool and members from
the talent pool for each group of units, solved as one assignment problem (OR-Tools CP-SAT) so
that every team covers the specialties its kinds of unit need whenever the pools allow, with
rotation (fewest rounds served, longest since last) deciding among equals, and never placing
anyone with a conflict: their own
unit, a former unit within `former_years`, a unit where a relative works, a declared conflict,
or (cross inspection, 交叉巡察) a unit in their own area. Every exclusion carries its reason.

`schedule_term` proposes the remaining rounds of a term so that every unit not yet covered is
covered exactly once, each round following the mix rule (such as 3+1) while units of the kinds
it asks for remain, priority units first; with too little capacity it says by how much."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from models.errors import DomainError

# What each kind of unit most needs from a team (巡察组需要的专长).
NEEDS: dict[str, tuple[str, ...]] = {
    "乡镇街道": ("财务", "组织"),
    "部门": ("财务", "法律"),
    "国有企业": ("财务", "审计", "工程"),
    "社区村": ("财务", "组织"),
}


@dataclass(frozen=True)
class UnitRec:
    id: int
    name: str
    kind: str
    area: str = ""
    priority: int = 0  # higher first: many petitions, large funds, lagging rectification


@dataclass(frozen=True)
class PersonRec:
    id: int
    name: str
    unit_id: int | None
    area: str = ""
    leader: bool = False
    talent: bool = False
    specialties: frozenset[str] = frozenset()
    available: bool = True
    rounds_served: int = 0
    last_served_year: int | None = None


@dataclass(frozen=True)
class ConflictRec:
    person_id: int
    unit_id: int
    kind: str  # 原工作单位, 亲属任职, 申报回避
    ended_year: int | None = None  # for a former unit: the year the person left it


@dataclass
class TeamProposal:
    units: list[UnitRec]
    leader: PersonRec
    members: list[PersonRec]
    covered: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)


@dataclass
class Composition:
    teams: list[TeamProposal]
    # person name -> the reasons they were kept off a team (one line per unit and cause)
    excluded: dict[str, list[str]]


def conflict_reasons(person: PersonRec, unit: UnitRec, conflicts: dict[tuple[int, int], list[ConflictRec]], *,
                     year: int, former_years: int, cross: bool) -> list[str]:
    """Why `person` may not inspect `unit` (empty when they may)."""
    reasons = []
    if person.unit_id == unit.id:
        reasons.append(f"{unit.name}是其本单位")
    for c in conflicts.get((person.id, unit.id), []):
        if c.kind == "原工作单位":
            if c.ended_year is None or year - c.ended_year < former_years:
                left = f"{c.ended_year}年离开，" if c.ended_year else ""
                reasons.append(f"{unit.name}是其原工作单位（{left}{former_years}年内回避）")
        elif c.kind == "亲属任职":
            reasons.append(f"其亲属在{unit.name}任职")
        else:
            reasons.append(f"本人申报回避{unit.name}")
    if cross and person.area and person.area == unit.area:
        reasons.append(f"交叉巡察：与{unit.name}同属{unit.area}片区")
    return reasons


def area_groups(units: list[UnitRec], n_teams: int) -> list[list[UnitRec]]:
    """Units split among teams, each team's units from as few areas as possible."""
    ordered = sorted(units, key=lambda u: (u.area, u.kind, u.name))
    size, extra = divmod(len(ordered), n_teams)
    out, start = [], 0
    for i in range(n_teams):
        end = start + size + (1 if i < extra else 0)
        out.append(ordered[start:end])
        start = end
    return [g for g in out if g]


def _rotation(p: PersonRec) -> tuple[int, int, str]:
    """Who is due to serve: fewest rounds served, then longest since the last, then by name."""
    return (p.rounds_served, p.last_served_year or 0, p.name)


def _shortlist(candidates: list[PersonRec], needed: set[str], keep: int) -> list[PersonRec]:
    """The candidates for one role on one team that an optimal composition can use: per set of the
    team's needed specialties a person brings, the `keep` next in rotation. Exact, not a heuristic:
    with `keep` seats in all, someone further down could always be swapped for one of those `keep`
    left unused, with the same specialties and a better place in the rotation."""
    by_kind: dict[frozenset[str], list[PersonRec]] = defaultdict(list)
    for p in sorted(candidates, key=_rotation):
        kind = frozenset(p.specialties & needed)
        if len(by_kind[kind]) < keep:
            by_kind[kind].append(p)
    return [p for ps in by_kind.values() for p in ps]


def checked_conflicts(units: list[UnitRec], conflicts: list[ConflictRec], *, n_teams: int,
                      members_per_team: int) -> dict[tuple[int, int], list[ConflictRec]]:
    """The request checked (units to inspect, at least one team, no negative size); the conflicts
    by (person, unit)."""
    if not units:
        raise DomainError("没有被巡察单位，无法组建巡察组")
    if n_teams < 1 or members_per_team < 0:
        raise DomainError("巡察组数应至少为1，组员人数不能为负数")
    by_pair: dict[tuple[int, int], list[ConflictRec]] = defaultdict(list)
    for c in conflicts:
        by_pair[(c.person_id, c.unit_id)].append(c)
    return by_pair


def compose_teams(units: list[UnitRec], people: list[PersonRec], conflicts: list[ConflictRec], *, n_teams: int,
                  members_per_team: int, year: int, former_years: int = 3, cross: bool = False) -> Composition:
    """Teams as one assignment problem (OR-Tools CP-SAT), in strict order of importance: every seat
    filled (a leader, then the members); then as many of the specialties each team's units need as
    the pools allow, across all teams at once; then rotation (the sum of places in the rotation
    order of the people chosen). Recusal is a hard constraint: a conflicted person is no candidate."""
    from ortools.sat.python import cp_model  # a heavy import, needed only here

    by_pair = checked_conflicts(units, conflicts, n_teams=n_teams, members_per_team=members_per_team)
    excluded: dict[str, list[str]] = defaultdict(list)
    for p in people:
        if not p.available:
            excluded[p.name].append("本轮不可用（请假、借调等）")
    available = sorted((p for p in people if p.available and (p.leader or p.talent)), key=_rotation)
    rank = {p.id: i for i, p in enumerate(available)}
    groups = area_groups(units, n_teams)
    needs = [{s for u in g for s in NEEDS.get(u.kind, ())} for g in groups]
    seats = len(groups) * (1 + members_per_team)
    leaders: list[list[PersonRec]] = []
    talents: list[list[PersonRec]] = []
    for g, needed in zip(groups, needs, strict=True):
        free = []
        for p in available:  # every conflict is written down, whoever ends up where
            reasons = [r for u in g for r in conflict_reasons(p, u, by_pair, year=year, former_years=former_years, cross=cross)]
            if reasons:
                excluded[p.name].extend(r for r in reasons if r not in excluded[p.name])
            else:
                free.append(p)
        leaders.append(_shortlist([p for p in free if p.leader], needed, len(groups)))
        talents.append(_shortlist([p for p in free if p.talent], needed, seats))

    model = cp_model.CpModel()
    lead = {(t, p.id): model.new_bool_var(f"l{t}_{p.id}") for t, ps in enumerate(leaders) for p in ps}
    member = {(t, p.id): model.new_bool_var(f"m{t}_{p.id}") for t, ps in enumerate(talents) for p in ps}
    by_id = {p.id: p for p in available}
    roles: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for (_t, pid), v in [*lead.items(), *member.items()]:
        roles[pid].append(v)
    for vs in roles.values():
        model.add_at_most_one(vs)  # one seat per person in the round
    covers = []
    for t in range(len(groups)):
        model.add(sum(v for (tt, _), v in lead.items() if tt == t) <= 1)
        model.add(sum(v for (tt, _), v in member.items() if tt == t) <= members_per_team)
        on_team = [(pid, v) for (tt, pid), v in [*lead.items(), *member.items()] if tt == t]
        for specialty in sorted(needs[t]):
            bringers = [v for pid, v in on_team if specialty in by_id[pid].specialties]
            if bringers:
                has = model.new_bool_var(f"c{t}_{specialty}")
                model.add(has <= sum(bringers))
                covers.append(has)
    rotation = sum(rank[pid] * v for (_, pid), v in [*lead.items(), *member.items()])
    w_cover = len(available) * seats + 1  # one specialty outweighs any rotation
    w_member = w_cover * (len(covers) + 1)  # one seat outweighs every specialty
    w_lead = w_member * (seats + 1)
    model.maximize(w_lead * sum(lead.values()) + w_member * sum(member.values()) + w_cover * sum(covers) - rotation)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # deterministic: the same pools give the same proposal
    # Presolve costs seconds on this model and finds nothing: the shortlists already keep it small
    # (measured on bench_compose: 3.5 s with it, 0.04 s without, the same optimum).
    solver.parameters.cp_model_presolve = False
    solver.parameters.max_time_in_seconds = 20.0  # a safety net; the shortlists solve in well under a second
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):  # pragma: no cover - the empty composition is feasible
        raise DomainError("无法按要求组建巡察组", [f"巡察组组建求解失败：{solver.status_name(status)}"])

    problems: list[str] = []
    teams: list[TeamProposal] = []
    for t, (g, needed) in enumerate(zip(groups, needs, strict=True)):
        names = "、".join(u.name for u in g)
        chosen_leaders = [p for p in leaders[t] if solver.value(lead[(t, p.id)])]
        members = sorted((p for p in talents[t] if solver.value(member[(t, p.id)])), key=_rotation)
        if not chosen_leaders:
            problems.append(f"负责{names}的巡察组找不到可任组长的人选（组长库人员均已分派或需回避）")
            continue
        if len(members) < members_per_team:
            problems.append(f"负责{names}的巡察组组员不足：需要{members_per_team}人，可用{len(members)}人")
        leader = chosen_leaders[0]
        covered = {s for p in (leader, *members) for s in p.specialties} & needed
        teams.append(TeamProposal(units=g, leader=leader, members=members, covered=covered, missing=needed - covered))
    if problems:
        raise DomainError("无法按要求组建巡察组", problems)
    return Composition(teams=teams, excluded=dict(excluded))


@dataclass
class PlannedRound:
    year: int
    number: int  # within the year
    units: list[UnitRec]


def schedule_term(units: list[UnitRec], *, covered: set[int], first_year: int, last_year: int,
                  rounds_per_year: int, units_per_round: int, mix: dict[str, int] | None = None,
                  first_round: int = 1) -> list[PlannedRound]:
    """Rounds from round `first_round` of first_year to the end of last_year covering every unit not
    in `covered` exactly once (rounds of the first year already held are not planned again)."""
    if rounds_per_year < 1 or units_per_round < 1 or last_year < first_year:
        raise DomainError("每年轮次数和每轮单位数应至少为1，结束年份不能早于开始年份")
    mix = mix or {}
    if sum(mix.values()) > units_per_round:
        raise DomainError(f"每轮组合规则共{sum(mix.values())}个单位，超过每轮容量{units_per_round}个")
    todo = [u for u in units if u.id not in covered]
    skip = max(0, first_round - 1)
    slots = (last_year - first_year + 1) * rounds_per_year - skip
    if slots < 1:
        raise DomainError(f"{last_year}年的{rounds_per_year}轮均已安排，任期内没有剩余轮次")
    capacity = slots * units_per_round
    if len(todo) > capacity:
        raise DomainError(f"剩余任期内容量不足：尚未巡察{len(todo)}个单位，{slots}轮×每轮{units_per_round}个单位共可安排"
                          f"{capacity}个，还差{len(todo) - capacity}个（需增加轮次或每轮单位数）")
    # Spread evenly: as few units per round as covering needs, priority units in the earliest rounds.
    per_round = -(-len(todo) // slots) if todo else 0
    queues: dict[str, list[UnitRec]] = defaultdict(list)
    for u in sorted(todo, key=lambda u: (-u.priority, u.kind, u.name)):
        queues[u.kind].append(u)
    plan: list[PlannedRound] = []
    for i in range(slots):
        if not any(queues.values()):
            break
        chosen: list[UnitRec] = []
        for kind, n in mix.items():  # the mix rule first, while that kind remains
            take = min(n, len(queues[kind]))
            chosen += queues[kind][:take]
            del queues[kind][:take]
        while len(chosen) < max(per_round, sum(mix.values())) and any(queues.values()):
            # then the highest-priority unit left, from the kind with the most left (keeps later mixes possible)
            kind = max((k for k in queues if queues[k]), key=lambda k: (queues[k][0].priority, len(queues[k])))
            chosen.append(queues[kind].pop(0))
        assert len(chosen) <= units_per_round
        k = i + skip
        plan.append(PlannedRound(year=first_year + k // rounds_per_year, number=k % rounds_per_year + 1, units=chosen))
    left = [u for q in queues.values() for u in q]
    if left:  # the mix rule took capacity that other kinds needed
        raise DomainError(f"按组合规则排完后仍有{len(left)}个单位未安排，请调整组合规则或增加容量")
    return plan
