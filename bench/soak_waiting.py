"""Soak, run by hand (hours): on the default stack (what `up` starts), one unit run waits at its
gate for --hours while ten other unit runs go through their stages (each gate answered after a
pause, so they stay active), the relay runs, and the daily sweep is started every 20 minutes.
Then one unit's process is killed in the middle of a stage (a run that really died). At the end:
the waiting run kept its state and its pause key and was never Crashed; the killed one was
recovered; every unit is archived once the waiting one is answered.

Last line: SOAK HOURS <h> WAITING_KEPT <0|1> CRASHED_WAITING <n> RECOVERED <0|1> LOCKS <n> ARCHIVED <n>/<units>
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_gates import LOCK_LINE, crashed_runs, teams  # noqa: E402
from bench.drive import (  # noqa: E402
    DECISIONS,
    flow_run_states,
    load_demo_org,
    start_round,
    start_stack,
    unit_runs,
)


def main() -> int:
    ap = argparse.ArgumentParser(description="等待审批的长时间稳定性测试（默认配置）")
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--pause", type=float, default=60, help="其他单位每个审批作答前等待的秒数")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="soak-"))
    stack = start_stack(home, env={"XUNCHA_FAULT_HOLD": "集中巡察:区城市建设投资公司:60"})
    from prefect.deployments import run_deployment

    from tests.support.driver import answer, pause_key, read

    try:
        load_demo_org()
        name = f"等待测试-{uuid.uuid4().hex[:6]}"
        round_run = start_round(name, teams(12))  # 区城市建设投资公司 (the one killed) is the 12th unit
        waited, killed = "", ""
        answered_at: dict[Any, Any] = {}
        start = time.monotonic()
        end = start + args.hours * 3600
        next_sweep = start
        key = ""
        while time.monotonic() < end or not waited:
            runs = [round_run, *unit_runs([name])]
            for run_id, fr in flow_run_states(runs).items():
                st = fr.state
                if not (st and st.is_paused()):
                    continue
                gate = str(st.state_details.pause_key).rsplit("-", 3)[0]
                if not waited and gate == "stationing-done":
                    waited, key = run_id, str(st.state_details.pause_key)  # this one waits the whole soak
                    print(f"等待的运行：{fr.name} 键 {key}", flush=True)
                    continue
                if run_id == waited:
                    continue
                due = answered_at.setdefault((run_id, str(st.id)), time.monotonic() + random.uniform(0, args.pause))
                if due <= time.monotonic():
                    answer(run_id, decision=DECISIONS[gate], comment="")
            marker = home / "faults"
            if not killed and marker.exists():
                for held in marker.glob("集中巡察-*.held"):
                    os.killpg(os.getpgid(int(held.read_text(encoding="ascii"))), signal.SIGKILL)  # a process that died
                    killed = held.name
                    print(f"已杀死运行进程：{held.name}", flush=True)
            if time.monotonic() >= next_sweep:
                run_deployment("督促整改/每日督办", timeout=0)
                next_sweep += 1200
            time.sleep(5)
        fr = read(waited)
        kept = int(bool(fr.state and fr.state.is_paused() and pause_key(waited) == key))
        crashed_waiting = crashed_runs([waited])
        answer(waited, decision=DECISIONS["stationing-done"], comment="")
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            runs = [round_run, *unit_runs([name])]
            states = flow_run_states(runs)
            if all(f.state and f.state.is_final() for f in states.values()):
                break
            for run_id, f in states.items():
                if f.state and f.state.is_paused():
                    answer(run_id, decision=DECISIONS[str(f.state.state_details.pause_key).rsplit("-", 3)[0]], comment="")
            time.sleep(3)
        from sqlmodel import select

        from models.db import session_scope
        from models.enums import Stage
        from models.tables import Inspection, InspectionRound, RunRecovery

        with session_scope() as s:
            rnd = s.exec(select(InspectionRound).where(InspectionRound.name == name)).one()
            units = list(s.exec(select(Inspection).where(Inspection.round_id == rnd.id)))
            archived = sum(1 for i in units if i.stage == Stage.ARCHIVED)
            recovered = int(bool(killed) and bool(s.exec(select(RunRecovery)).first()))
        locks = sum(1 for line in (home / "logs" / "server.log").read_text(encoding="utf-8", errors="replace").splitlines()
                    if LOCK_LINE.search(line))
        print(f"SOAK HOURS {args.hours} WAITING_KEPT {kept} CRASHED_WAITING {crashed_waiting} RECOVERED {recovered} "
              f"LOCKS {locks} ARCHIVED {archived}/{len(units)}")
        return 0 if kept and not crashed_waiting and archived == len(units) else 1
    finally:
        stack.stop()


if __name__ == "__main__":
    raise SystemExit(main())
