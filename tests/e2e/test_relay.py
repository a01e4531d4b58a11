"""The relay (deployments/ops/relay.py): the stack's long-lived process for delivery and housekeeping.

Without a Prefect server: a relay killed mid-delivery loses nothing, and a second one finishes
the work; gate reminders and clue letters registered in the database go out through it.
On the session's stack: every registered look-back starts exactly once whichever path
registered it, and a run waiting at a gate is never taken for a lost one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from deployments.ops.inbox import Inbox
from deployments.ops.relay import Relay, TickResult
from deployments.ops.stack import free_port
from models.clock import now
from models.db import get_engine, session_scope
from models.enums import AlertStatus, ApprovalStatus, Gate, LookBackStatus, Role
from models.settings import PROJECT_ROOT, get_settings
from models.tables import Alert, Approval, LookBack, RunRecovery
from tasks.infra.alerts import DELIVERY_WORKERS, RecordingSender, enqueue_alert
from tests.support.driver import retire_round

ALERTS = 60


def _relay_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XUNCHA_", "PREFECT_"))}
    env.update({"XUNCHA_HOME": str(home), "XUNCHA_ALERT_LEASE_SECONDS": "3", "PYTHONPATH": str(PROJECT_ROOT),
                # No Prefect server here: the housekeeping part fails (logged) and delivery goes on.
                "PREFECT_API_URL": "http://127.0.0.1:9/api", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    return env


def test_relay_killed_mid_delivery_loses_nothing(cli_home: Path) -> None:
    inbox = Inbox(port=free_port()).start()
    inbox.delay = 0.05  # a receiver that takes its time, so the kill lands mid-delivery
    try:
        get_engine()  # creates the schema
        with session_scope() as s:
            for i in range(ALERTS):
                enqueue_alert(session=s, settings=get_settings(), key=f"relay-test:{i}", role=Role.OFFICE,
                              title="【测试】", body=f"第{i}条", link="", now=now())
                s.flush()
            rows = s.exec(select(Alert)).all()
            assert len(rows) == ALERTS and all(r.status == AlertStatus.NO_RECIPIENT for r in rows)
            for r in rows:  # address them to the inbox
                r.recipient, r.channel, r.status = f"json://127.0.0.1:{inbox.port}/office", "json", AlertStatus.PENDING
                s.add(r)
        log = (cli_home / "relay.log").open("ab")
        first = subprocess.Popen([sys.executable, "-m", "deployments.ops.relay"], env=_relay_env(cli_home), cwd=PROJECT_ROOT,
                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while len(inbox.messages) < ALERTS // 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=20)
        at_kill = len(inbox.messages)
        assert 0 < at_kill < ALERTS, at_kill  # killed in the middle
        second = subprocess.Popen([sys.executable, "-m", "deployments.ops.relay"], env=_relay_env(cli_home), cwd=PROJECT_ROOT,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            while len({m["message"] for m in inbox.messages}) < ALERTS and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=30)
        received = Counter(m["message"] for m in inbox.messages)
        assert len(received) == ALERTS  # nothing lost
        repeated = sum(n - 1 for n in received.values())
        # Only a send in flight at the kill can be repeated (the receiver had it, its answer was lost).
        assert repeated <= DELIVERY_WORKERS, received
        with session_scope() as s:
            assert {r.status for r in s.exec(select(Alert))} == {AlertStatus.SENT}
    finally:
        inbox.stop()


def test_gate_reminder_and_clue_letter_go_out_through_the_relay(cli_home: Path) -> None:
    """Registered now, sent later: a gate waiting past its reminder time gets its reminder (with a
    fresh code) and a queued letter alert is delivered, by one relay pass and nothing else."""
    from tasks.planning.org import load_org, read_org_file
    from tests.conftest import DEMO_ORG
    from tests.support.factories import make_round

    get_engine()
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    with session_scope() as s:
        rnd, _ = make_round(s)
        approval = Approval(round_id=rnd.id, gate=Gate.PLAN, attempt=1, status=ApprovalStatus.PENDING,
                            requested_at=now() - timedelta(hours=get_settings().gate_reminder_hours + 1), flow_run_id=None)
        s.add(approval)
        s.flush()
        enqueue_alert(session=s, settings=get_settings(), key="letter:1:sent", role=Role.DISCIPLINE_COMMISSION,
                      title="【线索移交】", body="您有1件新移交线索", link="", now=now())
    sender = RecordingSender()
    relay = Relay(sender=sender)
    result = TickResult()
    relay.remind(result)  # the housekeeping parts that need no Prefect server
    relay.deliver(result)
    assert result.reminded == 1 and result.sent == 2
    titles = [title for _, title, _ in sender.sent]
    assert any(t.startswith("【催办】") for t in titles) and "【线索移交】" in titles
    again = TickResult()
    relay.remind(again)
    assert again.reminded == 0  # one reminder per elapsed period


@pytest.mark.stack
def test_every_registered_look_back_starts_exactly_once(stack: Any) -> None:
    """Two paths register without starting: the CLI's `sweep --as-of` and a scheduled sweep that
    crashed after its registering step. The running relay starts both, once each."""
    names = [f"回头看登记-命令行-{uuid.uuid4().hex[:6]}", f"回头看登记-中断-{uuid.uuid4().hex[:6]}"]
    try:
        _look_backs_start_once(names)
    finally:
        for name in names:
            retire_round(name)


def _look_backs_start_once(names: list[str]) -> None:
    from typer.testing import CliRunner

    from deployments.cli.main import app
    from tasks.supervision.rectification import detect_look_backs
    from tests.e2e.test_look_back import lagging_unit
    from tests.support.cli import as_person
    from tests.support.driver import read, wait_for

    by_cli = lagging_unit(names[0], unit="盐仓街道", leader="陈晓梅", member="高峰")
    out = CliRunner().invoke(app, as_person(["sweep", "--as-of", str(now().date()), "--as", "陶文华"]))
    assert out.exit_code == 0, out.output
    assert "新登记回头看" in out.output and "look-backs" in out.output
    crashed = lagging_unit(names[1], unit="区水务集团", leader="孙丽娟", member="黄磊")
    with session_scope() as s:  # the sweep's registering step committed, then its process died
        assert detect_look_backs(session=s, settings=get_settings(), as_of=now().date(), now=now())
    ids = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with session_scope() as s:
            rows = {lb.source_inspection_id: lb for lb in s.exec(select(LookBack).where(
                LookBack.source_inspection_id.in_([by_cli, crashed])))}  # type: ignore[attr-defined]
            ids = {k: (lb.id, lb.status, lb.flow_run_id) for k, lb in rows.items()}
        if len(ids) == 2 and all(st != LookBackStatus.REGISTERED and run for _, st, run in ids.values()):
            break
        time.sleep(1)
    assert len(ids) == 2 and all(run for _, _, run in ids.values()), ids
    for _, _, run_id in ids.values():
        fr = wait_for(run_id, paused=True, timeout=240)
        assert fr.name.startswith("回头看·回头看登记-") and fr.name.endswith(("·盐仓街道", "·区水务集团")), fr.name
    # Exactly once: a further relay pass starts nothing, and Prefect holds one run per look-back.
    assert Relay().tick(housekeeping=True).started == []
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        for _, _, run_id in ids.values():
            name = read(run_id).name
            assert len(client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])))) == 1


@pytest.mark.stack
def test_waiting_run_is_never_taken_for_a_lost_one(stack: Any) -> None:
    """A run suspended at a gate for longer than the silence window keeps its state and its key
    through relay passes that do take silent Running runs for dead."""
    name = f"等待测试轮次-{uuid.uuid4().hex[:6]}"
    try:
        _waiting_run_kept(name)
    finally:
        retire_round(name)


def _waiting_run_kept(name: str) -> None:
    from tests.e2e.test_lifecycle import approve_plan, inspections_of, start_round
    from tests.support.driver import pause_key, read, wait_for

    approve_plan(start_round(name, [{"name": "第五巡察组", "leader": "李建国", "members": ["王海燕"], "units": ["东港社区"]}]))
    (iid, run_id), = inspections_of(name).values()
    wait_for(run_id, paused=True, timeout=240)
    key = pause_key(run_id)
    window = 60  # the shortest the settings allow: two heartbeats (30 s apart) fit in it
    relay = Relay(settings=get_settings().model_copy(update={"zombie_seconds": window}))
    time.sleep(window + 5)
    for _ in range(3):
        result = relay.tick(housekeeping=True)
        assert str(run_id) not in result.marked_crashed + result.rescheduled
    fr = read(run_id)
    assert fr.state is not None and fr.state.is_paused() and pause_key(run_id) == key
    with session_scope() as s:
        assert s.exec(select(RunRecovery).where(RunRecovery.flow_run_id == str(run_id))).first() is None
        assert s.exec(select(Approval).where(Approval.inspection_id == iid, Approval.status == ApprovalStatus.PENDING)).one()
