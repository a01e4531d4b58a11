"""Shared by the end-to-end benchmarks: a stack on a temporary home, and a driver that answers
every gate of many rounds through the API (as staff would in the UI) until all are done."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Answers by gate (the pause key's prefix): the decision that moves the round on.
DECISIONS = {
    "plan": "批准", "stationing-done": "进驻结束，提交巡察报告", "report": "通过", "clue-transfer": "同意移交",
    "rect-plan": "通过", "close-out": "同意销号",
}


def start_stack(home: Path, *, workers: int = 1, env: dict[str, str] | None = None, pool_limit: int = 20) -> Any:
    from prefect.context import refresh_global_settings_context

    from deployments.ops.stack import Stack, free_port
    from models.db import get_engine
    from models.settings import get_settings

    st = Stack(home=home, port=free_port(), extra_env=env or {}, pool_limit=pool_limit)
    os.environ.update({k: v for k, v in st.env().items() if k.startswith(("PREFECT_", "XUNCHA_"))})
    refresh_global_settings_context()
    get_settings.cache_clear()
    get_engine.cache_clear()
    st.start_server()
    st.deploy()
    for i in range(workers):
        st.start_worker(f"worker{i}")
    st.start_relay()
    return st


def load_demo_org() -> None:
    from models.db import session_scope
    from tasks.planning.org import load_org, read_org_file, without_contacts

    data = without_contacts(read_org_file(ROOT / "deployments" / "demo" / "county.yaml"))
    with session_scope() as s:
        load_org(session=s, data=data)


def start_round(name: str, teams: list[dict[str, Any]]) -> str:
    from tasks.ops.launch import started

    return started("巡察轮次/发起巡察", timeout=0, parameters={"params": {
        "name": name, "kind": "常规巡察", "start_date": "2026-12-01", "end_date": "2026-12-31", "teams": teams}})


def flow_run_states(ids: Iterable[str]) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    ids = list(ids)
    out: dict[str, Any] = {}
    with get_client(sync_client=True) as client:
        for i in range(0, len(ids), 200):
            chunk = [UUID(x) for x in ids[i:i + 200]]
            for fr in client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk)), limit=200):
                out[str(fr.id)] = fr
    return out


def unit_runs(round_names: list[str]) -> list[str]:
    from sqlmodel import col, select

    from models.db import session_scope
    from models.tables import Inspection, InspectionRound

    with session_scope() as s:
        rows = s.exec(select(Inspection.flow_run_id).join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
                      .where(col(InspectionRound.name).in_(round_names))).all()
    return [r for r in rows if r]


def drive(round_runs: list[str], round_names: list[str], *, units: int, timeout: float, bare: bool = False) -> dict[str, int]:
    """Answer gates until every round run and its `units` unit runs are final. Returns counts."""
    from prefect.exceptions import NotPausedError, PrefectHTTPStatusError
    from prefect.flow_runs import resume_flow_run

    from tests.support.driver import answer

    answered: dict[str, str] = {}
    runs = set(round_runs)
    deadline = time.monotonic() + timeout
    final: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if bare:
            for fr in flow_run_states(round_runs).values():
                if fr.state and fr.state.is_completed():
                    runs.update(fr.state.result(raise_on_failure=False) or [])
        else:
            runs.update(unit_runs(round_names))
        states = flow_run_states(runs)
        final = {i: fr for i, fr in states.items() if fr.state and fr.state.is_final()}
        if len(final) == len(round_runs) * (1 + units) and len(runs) == len(final):
            break
        for run_id, fr in states.items():
            st = fr.state
            if not (st and st.is_paused()):
                continue
            key = str(st.state_details.pause_key)
            gate = key.rsplit("-", 3)[0]
            if not bare and gate not in DECISIONS:
                # A wait for a condition, not a gate (flows/lifecycle/gates.py await_condition): the
                # round run while its units work (round-units-…), a unit waiting for its plan or
                # items. Whoever makes the condition true wakes it (the last unit's archiving, the
                # relay); a resume here would only make it wait again under the next key.
                continue
            if answered.get(run_id) == str(st.id):  # one answer per waiting state (a re-run may wait at the same key)
                continue
            answered[run_id] = str(st.id)
            try:
                if bare:
                    resume_when_ready(resume_flow_run, run_id, {"ok": True})
                else:
                    answer(run_id, decision=DECISIONS[gate], comment="")
            except NotPausedError:  # the state read was stale: look again next round
                del answered[run_id]
            except PrefectHTTPStatusError as exc:  # 409: an answer for this key is already stored
                if exc.response.status_code != 409:
                    raise
        time.sleep(0.5)
    failed = sum(1 for fr in final.values() if not fr.state.is_completed())
    return {"runs": len(runs), "final": len(final), "failed": failed + (len(round_runs) * (1 + units) - len(final))}


def resume_when_ready(resume: Any, run_id: str, data: dict[str, Any]) -> None:
    for attempt in range(240):
        try:
            resume(UUID(run_id), run_input=data)
            return
        except RuntimeError as exc:
            if "schema not found" not in str(exc) or attempt == 239:
                raise
            time.sleep(0.25)


def task_run_count(flow_run_ids: list[str]) -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    total, offset = 0, 0
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in flow_run_ids])),
                                         limit=200, offset=offset)
            total += len(page)
            offset += len(page)
            if len(page) < 200:
                return total


def dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def stack_cpu(stack: Any) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each of the stack's processes with everything
    under it — finished children included (a process's reaped children count in its own figures):
    the server, the worker, each warm launcher (every flow run is its child), the relay, the
    gateway, and Prefect's private PostgreSQL (postmaster with its backends). Linux /proc only."""
    clk = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]) / clk)
    roots: dict[int, str] = {proc.pid: name for name, proc in stack.procs.items()}
    if stack.private_pg is not None:
        try:
            roots[int((stack.private_pg.data / "postmaster.pid").read_text().split()[0])] = "prefect-pg"
        except (OSError, ValueError, IndexError):
            pass

    def owner(pid: int) -> str | None:
        for _ in range(50):
            if pid in roots:
                return roots[pid]
            if pid not in table:
                return None
            pid = table[pid][0]
        return None

    out: dict[str, float] = {}
    for pid, (_ppid, cpu) in table.items():
        name = owner(pid)
        if name is not None:
            key = "launcher" if name.endswith("-launcher") else "worker" if name.startswith("worker") else name
            out[key] = out.get(key, 0.0) + cpu
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)  # the driver itself: answers, polling
    out["bench"] = me.ru_utime + me.ru_stime
    return out


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after.get(k, 0.0) - before.get(k, 0.0), 1) for k in sorted(set(before) | set(after))}
