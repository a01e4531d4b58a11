"""Faults of the worker: killed (SIGKILL) while a run waits for approval, and killed with the
run's process in the middle of a stage. Either way the run completes after a new worker starts,
with no duplicated rows and no duplicated alerts."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from models.db import session_scope
from models.enums import Gate, Stage
from models.tables import Alert, Approval, AuditEvent, Document, Inspection, RunRecovery
from tests.e2e.test_lifecycle import all_done, approve_plan, inspections_of, start_round
from tests.support.driver import answer, pause_key, read, wait_for, wait_for_gate

pytestmark = pytest.mark.stack


def ok(decision: str) -> dict[str, Any]:
    return {"decision": decision, "comment": ""}  # the driver signs as the gate's role, with its code


def test_pending_gate_survives_worker_kill(stack: Any) -> None:
    name = f"重启测试轮次-{uuid.uuid4().hex[:6]}"
    approve_plan(start_round(name, [
        # No one here serves on a round still running in this session (a person is on one round at a
        # time): tests/e2e/test_look_back.py leaves 马成功/林静 and 周卫东/郭涛 on rounds that do not finish.
        {"name": "第三巡察组", "leader": "孙丽娟", "members": ["罗敏"], "units": ["区卫生健康局"]}]))
    (iid, run_id), = inspections_of(name).values()
    wait_for(run_id, paused=True)
    assert pause_key(run_id) == f"stationing-done-{iid}-1-0"

    stack.kill("worker", signal.SIGKILL)
    answer(run_id, **ok("进驻结束，提交巡察报告"))
    fr = read(run_id)
    assert fr.state is not None and not fr.state.is_paused()  # resumed, waiting for a worker

    stack.start_worker("worker")
    for key, decision in ((f"report-{iid}-1-0", "通过"), (f"close-out-{iid}-1-0", "同意销号")):
        wait_for(run_id, paused=True, timeout=240)
        assert pause_key(run_id) == key
        if decision == "同意销号":
            all_done(iid)()
        answer(run_id, **ok(decision))
    fr = wait_for(run_id, final=True, timeout=240)
    assert fr.state is not None and fr.state.is_completed(), fr.state

    with session_scope() as s:
        insp = s.get(Inspection, iid)
        assert insp is not None and insp.stage == Stage.ARCHIVED
        gates = Counter(Gate(a.gate) for a in s.exec(select(Approval).where(Approval.inspection_id == iid)))
        assert gates == {Gate.STATIONING_DONE: 1, Gate.REPORT: 1, Gate.CLOSE_OUT: 1}
        docs = Counter((d.kind, d.version) for d in s.exec(select(Document).where(Document.inspection_id == iid)))
        assert docs and max(docs.values()) == 1
        moves = [e.detail["to"] for e in s.exec(select(AuditEvent).where(
            AuditEvent.entity == "inspection", AuditEvent.entity_id == iid, AuditEvent.action == "阶段变更"))]
        assert moves == ["集中巡察", "报告巡察", "巡察反馈", "线索移交", "督促整改", "立卷归档", "已归档"]
        alerts = Counter(a.dedupe_key + a.recipient for a in s.exec(select(Alert).where(Alert.dedupe_key.startswith(f"insp:{iid}:"))))  # type: ignore[attr-defined]
        assert alerts and max(alerts.values()) == 1


def process_alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to collect it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_run_killed_in_the_middle_of_a_stage_is_recovered(stack: Any, inbox: Any) -> None:
    """The worker and the run's process are killed (SIGKILL, as in a power cut) while 集中巡察 has
    made its database writes but not committed them. The heartbeat automation marks the silent
    run Crashed, the minute job schedules it again, and the run completes from the top with
    every stage, document and alert exactly once."""
    name = f"中断恢复测试-{uuid.uuid4().hex[:6]}"
    approve_plan(start_round(name, [{"name": "第四巡察组", "leader": "李建国", "members": ["高峰"], "units": ["马岙村"]}]))
    (iid, run_id), = inspections_of(name).values()
    marker = stack.home / "faults" / f"集中巡察-{iid}.held"
    deadline = time.monotonic() + 180
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert marker.exists(), "集中巡察 never started"
    # A power cut: the worker and the run's process (in a session of its own) die at once. The run's
    # process may be gone already: its warm launcher kills it when the worker's stand-in for it dies
    # with the worker (deployments/ops/launcher.py).
    held = int(marker.read_text(encoding="ascii"))
    stack.kill("worker", signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(held, signal.SIGKILL)  # the run's process leads its own process group
    deadline = time.monotonic() + 30
    while process_alive(held) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not process_alive(held), "the run's process outlived the power cut"
    fr = read(run_id)
    assert fr.state is not None and fr.state.is_running()  # Prefect still thinks it runs
    with session_scope() as s:  # the uncommitted writes were rolled back
        insp = s.get(Inspection, iid)
        assert insp is not None and insp.stage == Stage.PREPARATION

    stack.start_worker("worker")
    seen = wait_for_gate(run_id)  # Running (silent) → Crashed (no heartbeat) → Scheduled again → … → at the gate
    assert "CRASHED" in seen, seen
    assert pause_key(run_id) == f"stationing-done-{iid}-1-0"
    with session_scope() as s:
        rec = s.exec(select(RunRecovery).where(RunRecovery.flow_run_id == str(run_id))).one()
        assert (rec.attempts, rec.gave_up) == (1, False)
    for key, decision in ((f"stationing-done-{iid}-1-0", "进驻结束，提交巡察报告"), (f"report-{iid}-1-0", "通过"),
                          (f"close-out-{iid}-1-0", "同意销号")):
        wait_for(run_id, paused=True, timeout=240)
        assert pause_key(run_id) == key
        answer(run_id, **ok(decision))
    fr = wait_for(run_id, final=True, timeout=240)
    assert fr.state is not None and fr.state.is_completed(), fr.state

    with session_scope() as s:
        moves = [e.detail["to"] for e in s.exec(select(AuditEvent).where(
            AuditEvent.entity == "inspection", AuditEvent.entity_id == iid, AuditEvent.action == "阶段变更"))]
        assert moves == ["集中巡察", "报告巡察", "巡察反馈", "线索移交", "督促整改", "立卷归档", "已归档"]
        docs = Counter((d.kind, d.version) for d in s.exec(select(Document).where(Document.inspection_id == iid)))
        assert docs and max(docs.values()) == 1
        alerts = Counter(a.dedupe_key + a.recipient for a in s.exec(select(Alert).where(Alert.dedupe_key.startswith(f"insp:{iid}:"))))  # type: ignore[attr-defined]
        assert alerts and max(alerts.values()) == 1
        texts = {a.body for a in s.exec(select(Alert).where(Alert.dedupe_key.startswith(f"insp:{iid}:")))}  # type: ignore[attr-defined]
    received = Counter(m.get("message", "") for m in inbox.messages if m.get("message", "") in texts)
    assert received and max(received.values()) == 1, received  # each alert reached the receiver once
