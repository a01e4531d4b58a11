"""A round of 10 units through all seven stages on a real Prefect server (by default what `up`
starts: Prefect on its private PostgreSQL, one process worker, the relay), every gate answered through the API as soon as it opens, against bare Prefect flows of
the same shape in the same run: the same number of flow runs, task runs and gates, but empty
tasks. The ratio is the cost of this application's work (database, documents, alerts, audit)
over what Prefect itself costs for that shape.

Last line: RATIO <round/bare> SECONDS <round s> BARE <bare s>
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.drive import drive, load_demo_org, start_round, start_stack, task_run_count, unit_runs  # noqa: E402
from deployments.ops.stack import Stack, drop_postgres, postgres_env  # noqa: E402

UNITS = ["城东街道", "城西街道", "盐仓街道", "临城街道", "区财政局", "区卫生健康局", "区农业农村局", "区教育局", "东港社区", "马岙村"]


def teams(units: int) -> list[dict[str, object]]:
    chosen = UNITS[:units]
    split = [chosen[0:4], chosen[4:7], chosen[7:10]]
    leads = [("第一巡察组", "李建国", ["刘洋"]), ("第二巡察组", "周卫东", ["罗敏"]), ("第三巡察组", "陈晓梅", ["高峰"])]
    return [{"name": n, "leader": lead, "members": m, "units": us} for (n, lead, m), us in zip(leads, split, strict=True) if us]


def deploy_bare(stack: Stack) -> None:
    for entry, name in (("bench/bare_flows.py:bare_unit", "基准单位"), ("bench/bare_flows.py:bare_round", "基准轮次")):
        result = stack.run(stack.prefect_cli() + ["--no-prompt", "deploy", entry, "--name", name,
                                                  "--pool", "xuncha-process"], check=False)
        if result.returncode != 0:
            raise SystemExit(f"基准流程部署失败：{result.stdout[-2000:]}{result.stderr[-2000:]}")


@contextmanager
def stack_with_bare_flows(home: Path, env: dict[str, str] | None = None) -> Iterator[Stack]:
    """The stack `up` starts (bench/drive.py start_stack) with the bare flows deployed beside ours
    and the demo county loaded; stopped on the way out."""
    stack = start_stack(home, env=env)
    try:
        deploy_bare(stack)
        load_demo_org()
        yield stack
    finally:
        stack.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description="一轮巡察（10个单位、七个阶段、审批经 API 作答）与同形空流程的耗时比")
    ap.add_argument("--units", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--prefect-db", choices=["private", "postgres", "sqlite"], default="private",
                    help="Prefect 服务的数据库：private 为 up 启动的专用 PostgreSQL（默认）；postgres 为本机的 PostgreSQL 服务；"
                         "sqlite 为 Prefect 自带的 SQLite（十个单位并发时服务端频繁“database is locked”，仅供对比）")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-round-"))
    pg = f"xuncha_bench_round_{uuid.uuid4().hex[:6]}"
    env: dict[str, str] = {}
    if args.prefect_db == "postgres":
        env = {"PREFECT_API_DATABASE_CONNECTION_URL": postgres_env(pg)["PREFECT_API_DATABASE_CONNECTION_URL"]}
    elif args.prefect_db == "sqlite":
        env = {"PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect' / 'prefect.db'}"}
    print(f"Prefect 服务数据库：{args.prefect_db}；应用数据：SQLite；一个执行器、一个投递进程")
    try:
        with stack_with_bare_flows(home, env):
            from tasks.ops.launch import started

            # Ours: one round, every gate answered when it opens.
            name = f"基准轮次-{uuid.uuid4().hex[:6]}"
            t0 = time.monotonic()
            run = start_round(name, teams(args.units))
            ours = drive([run], [name], units=args.units, timeout=args.timeout)
            seconds = time.monotonic() - t0
            unit_ids = unit_runs([name])
            tasks = task_run_count(unit_ids) // max(1, len(unit_ids))
            gates = 3  # per unit: 巡察组提交报告, 报告审议, 整改销号 (no clue, no rectification item)
            print(f"本系统：{args.units}个单位，{ours['runs']}个流程运行，每个单位约{tasks}个任务运行、{gates}个审批，"
                  f"用时 {seconds:.1f} 秒，失败 {ours['failed']}")

            # Bare: the same shape, empty tasks.
            t0 = time.monotonic()
            bare_run = started("基准轮次/基准轮次", timeout=0, parameters={
                "units": args.units, "tasks": tasks, "gates": gates, "tag": uuid.uuid4().hex[:8]})
            bare = drive([bare_run], [], units=args.units, timeout=args.timeout, bare=True)
            bare_seconds = time.monotonic() - t0
            print(f"空流程：同样形状，用时 {bare_seconds:.1f} 秒，失败 {bare['failed']}")
            if ours["failed"] or bare["failed"]:
                print("有运行未完成，比值无效", file=sys.stderr)
                return 1
            print(f"RATIO {seconds / bare_seconds:.3f} SECONDS {seconds:.1f} BARE {bare_seconds:.1f}")
            return 0
    finally:
        if args.prefect_db == "postgres":
            drop_postgres(pg)


if __name__ == "__main__":
    raise SystemExit(main())
