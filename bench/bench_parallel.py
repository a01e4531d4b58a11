"""50 rounds started at once on the scale-out set-up: the Prefect server and the application data
on PostgreSQL, two process workers on one pool (limit 20). Every gate is answered through the API
as soon as it opens. All rounds must complete.

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

UNITS = ["城东街道", "城西街道", "盐仓街道", "临城街道", "区财政局", "区教育局", "区卫生健康局", "区住房和城乡建设局",
         "区农业农村局", "区民政局", "区审计局", "区交通投资集团", "区城市建设投资公司", "区水务集团", "东港社区", "马岙村"]


def team(i: int) -> list[dict[str, object]]:
    unit = UNITS[i % len(UNITS)]
    leader = "李建国" if unit == "区农业农村局" else "马成功"  # no one inspects their own unit
    return [{"name": f"第{i + 1}巡察组", "leader": leader, "units": [unit]}]


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
