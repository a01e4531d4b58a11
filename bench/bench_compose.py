"""Composing teams for a round of 15 units from a pool of 500 people with 2,000 conflicts, and
scheduling a 5-year plan for 1,000 units: each must take under 2 s.

Last line: SECONDS <compose s> <schedule s>
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.planning import ConflictRec, PersonRec, UnitRec, compose_teams, schedule_term  # noqa: E402

KINDS = ["乡镇街道", "部门", "国有企业", "社区村"]
AREAS = ["城区", "北片", "南片", "东片", "西片"]
SPECIALTIES = ["财务", "审计", "组织", "宣传", "工程", "法律"]


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

    t0 = time.perf_counter()
    comp = compose_teams(round_units, people, conflicts, n_teams=5, members_per_team=4, year=2026, cross=True)
    compose_s = time.perf_counter() - t0
    excluded = sum(len(v) for v in comp.excluded.values())
    print(f"组建：{args.round_units}个单位、{len(comp.teams)}个巡察组，人员库{args.people}人、回避申报{args.conflicts}条"
          f"（交叉巡察），记录排除理由{excluded}条，用时 {compose_s:.3f} 秒")

    t0 = time.perf_counter()
    plan = schedule_term(all_units, covered=set(), first_year=2022, last_year=2026, rounds_per_year=4,
                         units_per_round=60, mix={"部门": 2, "社区村": 2})
    schedule_s = time.perf_counter() - t0
    placed = sum(len(r.units) for r in plan)
    print(f"计划：{args.plan_units}个单位，5年{len(plan)}轮，安排{placed}个，用时 {schedule_s:.3f} 秒（目标：各不超过2秒）")
    assert placed == args.plan_units
    print(f"SECONDS {compose_s:.3f} {schedule_s:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
