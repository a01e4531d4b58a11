"""The greedy team composition the project used before the assignment model (tasks/planning/compose.py):
kept only as the baseline that bench_compose.py compares the solver's quality with."""

from __future__ import annotations

from collections import defaultdict

from models.errors import DomainError
from tasks.planning.compose import (
    NEEDS,
    Composition,
    ConflictRec,
    PersonRec,
    TeamProposal,
    UnitRec,
    area_groups,
    checked_conflicts,
    conflict_reasons,
)


def compose_teams_greedy(units: list[UnitRec], people: list[PersonRec], conflicts: list[ConflictRec], *, n_teams: int,
                  members_per_team: int, year: int, former_years: int = 3, cross: bool = False) -> Composition:
    by_pair = checked_conflicts(units, conflicts, n_teams=n_teams, members_per_team=members_per_team)
    excluded: dict[str, list[str]] = defaultdict(list)
    used: set[int] = set()
    teams: list[TeamProposal] = []

    def rotation(p: PersonRec) -> tuple[int, int, str]:  # least served, longest ago, then by name
        return (p.rounds_served, p.last_served_year or 0, p.name)

    def eligible(p: PersonRec, group: list[UnitRec]) -> bool:
        reasons = [r for u in group for r in conflict_reasons(p, u, by_pair, year=year, former_years=former_years, cross=cross)]
        if reasons:
            excluded[p.name].extend(r for r in reasons if r not in excluded[p.name])
        return not reasons

    available = [p for p in people if p.available]
    for p in people:
        if not p.available:
            excluded[p.name].append("本轮不可用（请假、借调等）")
    problems: list[str] = []
    for group in area_groups(units, n_teams):
        names = "、".join(u.name for u in group)
        leaders = sorted((p for p in available if p.leader and p.id not in used and eligible(p, group)), key=rotation)
        if not leaders:
            problems.append(f"负责{names}的巡察组找不到可任组长的人选（组长库人员均已分派或需回避）")
            continue
        leader = leaders[0]
        used.add(leader.id)
        needed = {s for u in group for s in NEEDS.get(u.kind, ())}
        covered = set(leader.specialties) & needed
        members: list[PersonRec] = []
        pool = [p for p in available if p.talent and p.id not in used and eligible(p, group)]
        while len(members) < members_per_team and pool:
            # the person who brings the most still-missing specialties; ties by rotation
            best = min(pool, key=lambda p: (-len((set(p.specialties) & needed) - covered), rotation(p)))
            pool.remove(best)
            members.append(best)
            used.add(best.id)
            covered |= set(best.specialties) & needed
        if len(members) < members_per_team:
            problems.append(f"负责{names}的巡察组组员不足：需要{members_per_team}人，可用{len(members)}人")
        teams.append(TeamProposal(units=group, leader=leader, members=members, covered=covered, missing=needed - covered))
    if problems:
        raise DomainError("无法按要求组建巡察组", problems)
    return Composition(teams=teams, excluded=dict(excluded))
