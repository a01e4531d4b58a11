"""Gate latency on the default stack (what `up` starts: Prefect on its embedded database, one
process worker, the relay): a round whose every gate is answered by API as soon as it opens.
For each answer, the seconds until the same run waits at its next gate with that gate's alert
(the approver's code) written. Baseline in the same run and stack: bare Prefect flows of the
same shape that suspend and are resumed the same number of times.

`--units 15` is the real-round soak of issue “Waiting is safe”: it also prints how many units
were archived. `--repeat N` runs it N times, each on a stack of its own, and pools the timings
(one run has about 20; two runs' ratios differ by up to 0.3). Figures go to bench/README.md.

Last line: RATIO <p50 ours / p50 bare> P50 <s> P95 <s> BARE_P50 <s> LOCKS <n> CRASHED <n>
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_round import stack_with_bare_flows  # noqa: E402
from bench.drive import (  # noqa: E402
    DECISIONS,
    cpu_used,
    flow_run_states,
    resume_when_ready,
    stack_cpu,
    start_round,
    unit_runs,
)

# Fifteen units of the demo county in five teams, each member clear of recusal for its units.
LAYOUT = [
    ("第一巡察组", "李建国", ["刘洋"], ["城东街道", "盐仓街道", "区财政局"]),
    ("第二巡察组", "周卫东", ["罗敏"], ["城西街道", "临城街道", "区卫生健康局"]),
    ("第三巡察组", "陈晓梅", ["高峰"], ["区农业农村局", "区教育局", "东港社区"]),
    ("第四巡察组", "孙丽娟", ["林静"], ["马岙村", "区交通投资集团", "区城市建设投资公司"]),
    ("第五巡察组", "马成功", ["郭涛"], ["区住房和城乡建设局", "区民政局", "区审计局"]),
]
LOCK_LINE = re.compile(r"database is locked|\" 503 |status_code=503| 503 Service")


def teams(units: int) -> list[dict[str, Any]]:
    out, left = [], units
    for name, leader, members, us in LAYOUT:
        if left <= 0:
            break
        out.append({"name": name, "leader": leader, "members": members, "units": us[:left]})
        left -= len(us[:left])
    return out


def gate_alert_written(run_id: str) -> bool:
    """The run's open gate has its code alert in the outbox."""
    from sqlmodel import col, select

    from models.db import session_scope
    from models.enums import ApprovalStatus
    from models.tables import Alert, Approval

    with session_scope() as s:
        approval = s.exec(select(Approval).where(Approval.flow_run_id == run_id, Approval.status == ApprovalStatus.PENDING)
                          .order_by(col(Approval.id).desc())).first()
        return bool(approval and s.exec(select(Alert.id).where(Alert.dedupe_key == f"gate:{approval.id}:ask")).first())


def measure(first_runs: list[str], more_runs: Any, *, ours: bool, expected: int, timeout: float) -> tuple[list[float], int]:
    """Answer every gate as it opens; return the answer-to-next-gate latencies and the final count."""
    from prefect.exceptions import NotPausedError, PrefectHTTPStatusError
    from prefect.flow_runs import resume_flow_run

    from tests.support.driver import answer

    runs, lat = set(first_runs), []
    answered_state: dict[Any, Any] = {}
    answered_at: dict[Any, Any] = {}
    deadline = time.monotonic() + timeout
    final: dict[str, Any] = {}
    while time.monotonic() < deadline:
        runs.update(more_runs())
        states = flow_run_states(runs)
        final = {i: fr for i, fr in states.items() if fr.state and fr.state.is_final()}
        if len(final) >= expected and len(final) == len(runs):
            break
        for run_id, fr in states.items():
            st = fr.state
            if not (st and st.is_paused()) or answered_state.get(run_id) == str(st.id):
                continue
            if ours and not gate_alert_written(run_id):
                continue
            if run_id in answered_at:
                lat.append(time.monotonic() - answered_at.pop(run_id))
            answered_state[run_id] = str(st.id)
            try:
                if ours:
                    answer(run_id, decision=DECISIONS[str(st.state_details.pause_key).rsplit("-", 3)[0]], comment="")
                else:
                    resume_when_ready(resume_flow_run, run_id, {"ok": True})
                answered_at[run_id] = time.monotonic()
            except NotPausedError:
                del answered_state[run_id]
            except PrefectHTTPStatusError as exc:
                if exc.response.status_code != 409:
                    raise
        time.sleep(0.2)
    return lat, len(final)


def crashed_runs(ids: list[str]) -> int:
    from prefect.client.orchestration import get_client

    n = 0
    with get_client(sync_client=True) as client:
        for i in ids:
            if any(s.type.value == "CRASHED" for s in client.read_flow_run_states(UUID(i))):
                n += 1
    return n


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def once(units: int, timeout: float) -> tuple[list[float], list[float], int, int, bool]:
    """One stack of its own: our round answered gate by gate, then the bare flows of the same shape.
    Returns (our latencies, bare latencies, lock lines, crashed runs, every unit archived)."""
    home = Path(tempfile.mkdtemp(prefix="bench-gates-"))
    server_log = home / "logs" / "server.log"
    print(f"默认配置（与 up 相同）：数据目录 {home}")
    with stack_with_bare_flows(home) as stack:
        from tasks.ops.launch import started

        name = f"审批基准-{uuid.uuid4().hex[:6]}"
        cpu0 = stack_cpu(stack)
        t0 = time.monotonic()
        first = start_round(name, teams(units))
        lat, final = measure([first], lambda: unit_runs([name]), ours=True, expected=1 + units, timeout=timeout)
        seconds = time.monotonic() - t0
        ours_ids = [first, *unit_runs([name])]
        from sqlmodel import select

        from models.db import session_scope
        from models.enums import Stage
        from models.tables import Inspection, InspectionRound

        with session_scope() as s:
            rnd = s.exec(select(InspectionRound).where(InspectionRound.name == name)).one()
            archived = sum(1 for i in s.exec(select(Inspection).where(Inspection.round_id == rnd.id)) if i.stage == Stage.ARCHIVED)
        print(f"本系统：{units}个单位，{len(lat)}次计时，用时{seconds:.1f}秒，已归档{archived}个，结束的运行{final}个")

        cpu1 = stack_cpu(stack)
        bare_first = started("基准轮次/基准轮次", timeout=0, parameters={
            "units": units, "tasks": 3, "gates": 3, "tag": uuid.uuid4().hex[:8]})

        def bare_children() -> list[str]:
            fr = flow_run_states([bare_first]).get(bare_first)
            return list(fr.state.result(raise_on_failure=False) or []) if fr and fr.state and fr.state.is_completed() else []

        bare_lat, _ = measure([bare_first], bare_children, ours=False, expected=1 + units, timeout=timeout)
        cpu2 = stack_cpu(stack)
        for label, used, n in (("本系统", cpu_used(cpu0, cpu1), len(lat)), ("空流程", cpu_used(cpu1, cpu2), len(bare_lat))):
            parts = "，".join(f"{k} {v:.1f}" for k, v in used.items())
            print(f"{label}各进程CPU秒：{parts}；合计 {sum(used.values()):.1f}，每次计时 {sum(used.values()) / max(1, n):.2f}")
        bare_ids = [bare_first, *bare_children()]
        locks = sum(1 for line in server_log.read_text(encoding="utf-8", errors="replace").splitlines() if LOCK_LINE.search(line))
        crashed = crashed_runs(ours_ids + bare_ids)
        print(f"空流程：{len(bare_lat)}次计时，P50 {pct(bare_lat, 0.5):.2f}秒；服务端锁错误/503 {locks}行；曾中断的运行{crashed}个")
        return lat, bare_lat, locks, crashed, archived == units


def main() -> int:
    ap = argparse.ArgumentParser(description="审批间隔：作答后到下一个审批打开（验证码提醒已写入）的秒数，与同形空流程对比")
    ap.add_argument("--units", type=int, default=10, help="单位数（10个单位约20次计时；15为整轮压力测试）")
    ap.add_argument("--repeat", type=int, default=1,
                    help="重复几遍（每遍一套新的服务），合并各遍的计时再算比值：一遍只有约20次计时，两遍之间比值可差0.3")
    ap.add_argument("--timeout", type=float, default=3600)
    args = ap.parse_args()
    lat: list[float] = []
    bare_lat: list[float] = []
    locks = crashed = 0
    all_archived = True
    for n in range(args.repeat):
        one, bare_one, lk, cr, archived = once(args.units, args.timeout)
        lat += one
        bare_lat += bare_one
        locks, crashed, all_archived = locks + lk, crashed + cr, all_archived and archived
        if args.repeat > 1:
            print(f"第{n + 1}遍：RATIO {pct(one, 0.5) / pct(bare_one, 0.5):.3f} P50 {pct(one, 0.5):.2f} BARE_P50 {pct(bare_one, 0.5):.2f}")
    p50, p95, bare_p50 = pct(lat, 0.5), pct(lat, 0.95), pct(bare_lat, 0.5)
    if args.repeat > 1:
        print(f"合并{args.repeat}遍：本系统{len(lat)}次计时，空流程{len(bare_lat)}次计时")
    print(f"RATIO {p50 / bare_p50:.3f} P50 {p50:.2f} P95 {p95:.2f} BARE_P50 {bare_p50:.2f} LOCKS {locks} CRASHED {crashed}")
    return 0 if all_archived and not crashed else 1


if __name__ == "__main__":
    raise SystemExit(main())
