"""Composing teams for a round of 15 units from a pool of 500 people with 2,000 conflicts, and
scheduling a 5-year plan for 1,000 units: each must take under 2 s.

Quality: the specialties missing across all teams (a team lacking 财务 counts one), for the
solver (tasks/planning/compose.py) and the old greedy pass (bench/greedy_compose.py) on the same cases:
the timed case, tight random pools, and built cases where a perfect cover is known to exist.
The solver must miss no more than greedy on every case and nothing where a perfect cover exists;
otherwise the exit code is 1.

Last lines: SECONDS <compose s> <schedule s>, then MISSING <solver total> <greedy total>
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.greedy_compose import compose_teams_greedy  # noqa: E402
from models.errors import DomainError  # noqa: E402
from tasks.planning.compose import ConflictRec, PersonRec, UnitRec, compose_teams, schedule_term  # noqa: E402

KINDS = ["乡镇街道", "部门", "国有企业", "社区村"]
AREAS = ["城区", "北片", "南片", "东片", "西片"]
SPECIALTIES = ["财务", "审计", "组织", "宣传", "工程", "法律"]


def missing(units: list[UnitRec], people: list[PersonRec], conflicts: list[ConflictRec], greedy: bool, *,
            n_teams: int, members_per_team: int, year: int) -> int | None:
    """Specialties missing across the teams; None when no composition is possible."""
    try:
        comp = (compose_teams_greedy if greedy else compose_teams)(units, people, conflicts, n_teams=n_teams,
                                                                   members_per_team=members_per_team, year=year)
    except DomainError:
        return None
    return sum(len(t.missing) for t in comp.teams)


def random_case(seed: int, n_people: int, n_units: int) -> tuple[list[UnitRec], list[PersonRec], list[ConflictRec]]:
    """A tight pool: few people per seat, one specialty at most each, some conflicts."""
    rnd = random.Random(seed)
    units = [UnitRec(i, f"单位{i}", rnd.choice(KINDS), rnd.choice(AREAS)) for i in range(n_units)]
    people = [PersonRec(1000 + j, f"人员{j}", None, rnd.choice(AREAS), leader=j < n_people // 4, talent=j >= n_people // 4,
                        specialties=frozenset(rnd.sample(SPECIALTIES, rnd.randint(0, 1))), rounds_served=rnd.randint(0, 4))
              for j in range(n_people)]
    conflicts = [ConflictRec(rnd.choice(people).id, rnd.choice(units).id, "申报回避") for _ in range(n_people // 5)]
    return units, people, conflicts


def planted_case(seed: int, n_teams: int) -> tuple[list[UnitRec], list[PersonRec], list[ConflictRec]]:
    """Departments (财务, 法律): two people bring both, the rest one each, and those who bring one
    are next in the rotation. A perfect cover exists: the two pairs, then 财务 with 法律."""
    rnd = random.Random(seed)
    units = [UnitRec(i, f"部门{i}", "部门", "城区") for i in range(n_teams)]
    people = [PersonRec(100 + t, f"组长{t}", None, leader=True) for t in range(n_teams)]
    singles = n_teams - 2
    people += [PersonRec(200 + k, f"双专长{k}", None, talent=True, specialties=frozenset({"财务", "法律"}), rounds_served=2)
               for k in range(2)]
    people += [PersonRec(300 + k, f"财务{k}", None, talent=True, specialties=frozenset({"财务"}), rounds_served=rnd.randint(0, 1))
               for k in range(singles)]
    people += [PersonRec(400 + k, f"法律{k}", None, talent=True, specialties=frozenset({"法律"}), rounds_served=rnd.randint(0, 1))
               for k in range(singles)]
    people += [PersonRec(500 + k, f"组员{k}", None, talent=True, rounds_served=3) for k in range(n_teams)]
    return units, people, []


def quality() -> tuple[int, int, bool]:
    """Solver against greedy on each case; False when the solver loses one or misses a known cover."""
    ok, total_solver, total_greedy = True, 0, 0
    cases = [(f"紧张人员库（种子{seed}）", random_case(seed, 24, 8), 4, 2, False) for seed in range(1, 9)]
    cases += [(f"{n}个部门组（存在完全覆盖）", planted_case(n, n), n, 2, True) for n in (4, 5, 6)]
    for name, (units, people, conflicts), n_teams, size, perfect in cases:
        kw = {"n_teams": n_teams, "members_per_team": size, "year": 2026}
        solver, greedy = missing(units, people, conflicts, False, **kw), missing(units, people, conflicts, True, **kw)
        good = solver is not None and (greedy is None or solver <= greedy) and not (perfect and solver)
        ok &= good
        total_solver += solver or 0
        total_greedy += greedy or 0
        show: dict[int | None, str | int | None] = {None: "无法组建"}
        print(f"  {name}：缺少专长 求解 {show.get(solver, solver)}，贪心 {show.get(greedy, greedy)}"
              f"{'' if good else '  ← 不符合要求'}")
    return total_solver, total_greedy, ok


def main() -> int:
    ap = argparse.ArgumentParser(description="巡察组组建与任期巡察计划的耗时")
    ap.add_argument("--people", type=int, default=500)
    ap.add_argument("--conflicts", type=int, default=2000)
    ap.add_argument("--round-units", type=int, default=15)
    ap.add_argument("--plan-units", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    all_units = [UnitRec(i, f"单位{i}", rnd.choice(KINDS), rnd.choice(AREAS), priority=rnd.choice([0, 0, 0, 1, 5]))
                 for i in range(args.plan_units)]
    people = [PersonRec(10_000 + j, f"人员{j}", rnd.randrange(args.plan_units), rnd.choice(AREAS),
                        leader=j < args.people // 8, talent=j >= args.people // 8 or rnd.random() < 0.3,
                        specialties=frozenset(rnd.sample(SPECIALTIES, rnd.randint(0, 2))),
                        available=rnd.random() > 0.1, rounds_served=rnd.randint(0, 6),
                        last_served_year=rnd.choice([None, 2022, 2023, 2024, 2025]))
              for j in range(args.people)]
    round_units = rnd.sample(all_units, args.round_units)
    conflicts = [ConflictRec(rnd.choice(people).id, rnd.choice(round_units + all_units[:200]).id,
                             rnd.choice(["原工作单位", "亲属任职", "申报回避"]), rnd.choice([None, 2018, 2022, 2025]))
                 for _ in range(args.conflicts)]

    from ortools.sat.python import cp_model  # noqa: F401 - the solver's import is not the composition's time

    t0 = time.perf_counter()
    comp = compose_teams(round_units, people, conflicts, n_teams=5, members_per_team=4, year=2026, cross=True)
    compose_s = time.perf_counter() - t0
    excluded = sum(len(v) for v in comp.excluded.values())
    gap = sum(len(t.missing) for t in comp.teams)
    greedy = compose_teams_greedy(round_units, people, conflicts, n_teams=5, members_per_team=4, year=2026, cross=True)
    greedy_gap = sum(len(t.missing) for t in greedy.teams)
    print(f"组建：{args.round_units}个单位、{len(comp.teams)}个巡察组，人员库{args.people}人、回避申报{args.conflicts}条"
          f"（交叉巡察），记录排除理由{excluded}条，用时 {compose_s:.3f} 秒；缺少专长 求解 {gap}，贪心 {greedy_gap}")

    t0 = time.perf_counter()
    plan = schedule_term(all_units, covered=set(), first_year=2022, last_year=2026, rounds_per_year=4,
                         units_per_round=60, mix={"部门": 2, "社区村": 2})
    schedule_s = time.perf_counter() - t0
    placed = sum(len(r.units) for r in plan)
    print(f"计划：{args.plan_units}个单位，5年{len(plan)}轮，安排{placed}个，用时 {schedule_s:.3f} 秒（目标：各不超过2秒）")
    assert placed == args.plan_units
    print("组建质量（各巡察组缺少的专长合计，求解与原贪心算法对比）：")
    solver_total, greedy_total, ok = quality()
    ok &= gap <= greedy_gap and compose_s <= 2 and schedule_s <= 2
    print(f"SECONDS {compose_s:.3f} {schedule_s:.3f}")
    print(f"MISSING {solver_total + gap} {greedy_total + greedy_gap}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
