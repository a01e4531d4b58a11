"""50 rounds started at once on the scale-out set-up: the Prefect server and the application data
on PostgreSQL, two process workers on one pool (limit 20). Every gate is answered through the API
as soon as it opens. All rounds must complete.

One unit or person may be in one running round only (tasks/lifecycle/rounds.py), so the demo
county's 16 units cannot carry 50 rounds at once: the bench adds to it an org large enough, one
unit and one team leader (组长库, in no unit, with a 巡察组组长 account) per round, each round with
its own unit and leader.
A round that cannot start, or any round not archived at the end, makes the bench exit 1.

Last line: SECONDS <s> ROUNDS <n> FAILED <n>
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.drive import drive, load_demo_org, start_round, start_stack  # noqa: E402
from deployments.ops.stack import drop_postgres, postgres_env  # noqa: E402


def bench_org(rounds: int) -> dict[str, object]:
    """The units and leaders `rounds` distinct rounds need, beside the demo county."""
    units = [{"name": f"并发测试单位{i + 1:02d}", "kind": "部门", "area": "机关",
              "secretary": {"name": f"并发测试书记{i + 1:02d}"}} for i in range(rounds)]
    people = [{"name": f"并发测试组长{i + 1:02d}", "title": "调研员", "pools": ["组长库"]} for i in range(rounds)]
    # Each leader answers the stationing gate of the round's unit, so each has an account (one of
    # the gate's roles); the other gates are answered by the demo county's accounts.
    accounts = [{"name": p["name"], "role": "巡察组组长"} for p in people]
    return {"units": units, "people": people, "accounts": accounts}


def team(i: int) -> list[dict[str, object]]:
    return [{"name": f"第{i + 1}巡察组", "leader": f"并发测试组长{i + 1:02d}", "units": [f"并发测试单位{i + 1:02d}"]}]


def load_bench_org(rounds: int) -> None:
    from models.db import session_scope
    from tasks.planning.org import load_org, parse_org

    with session_scope() as s:
        load_org(session=s, data=parse_org(bench_org(rounds)))


def main() -> int:
    ap = argparse.ArgumentParser(description="同时发起多轮巡察（PostgreSQL，两个执行器），全部走完")
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=3000)
    args = ap.parse_args()
    name = f"xuncha_bench_{uuid.uuid4().hex[:6]}"
    home = Path(tempfile.mkdtemp(prefix="bench-parallel-"))
    stack = start_stack(home, workers=args.workers, env=postgres_env(name))
    try:
        load_demo_org()
        load_bench_org(args.rounds)
        tag = uuid.uuid4().hex[:4]
        names = [f"并发轮次-{tag}-{i:02d}" for i in range(args.rounds)]
        t0 = time.monotonic()
        runs = [start_round(n, team(i)) for i, n in enumerate(names)]
        print(f"已同时发起{len(runs)}轮巡察（每轮1个单位），{args.workers}个执行器，工作池并发上限20")
        result = drive(runs, names, units=1, timeout=args.timeout)
        seconds = time.monotonic() - t0
        from sqlmodel import col, select

        from models.db import session_scope
        from models.enums import RoundStatus
        from models.tables import InspectionRound

        with session_scope() as s:  # a round counts as done when every unit of it is archived
            done = len(s.exec(select(InspectionRound.id).where(col(InspectionRound.name).in_(names),
                                                               InspectionRound.status == RoundStatus.DONE)).all())
        rounds_failed = len(runs) - done
        print(f"流程运行{result['runs']}个，成功结束{result['final'] - result['failed']}个；已完成的轮次{done}个")
        print(f"SECONDS {seconds:.1f} ROUNDS {len(runs)} FAILED {rounds_failed}")
        return 0 if rounds_failed == 0 else 1
    finally:
        stack.stop()
        drop_postgres(name)


if __name__ == "__main__":
    raise SystemExit(main())
