"""The relay: a long-lived process of the stack, started beside the worker by `up` (one or more
in the scale-out set-up). It does the housekeeping that once ran as a flow every minute, so
the Runs list holds business runs only and Prefect's database is spared a run a minute:

- delivers the outbox (every few seconds; several relays share it through the row leases of
  tasks/infra/alerts.py);
- reminds approvers of gates waiting past their time (row-locked, one code per gate);
- starts what was registered to start later and was not: look-backs of any sweep, and each
  round's common-problem grouping (共性问题归类) once its reports are all approved — registered
  here too, so a grouping is proposed even if the unit flow that should have started it died;
- wakes what should have been woken and was not: a unit run still waiting for its plan after
  the plan was submitted (the submission's own wake-up came while the run was on its way to wait);
- recovers runs whose process died, deciding from each run's state as read at that moment —
  a run that is Suspended, Paused, Scheduled or finished is never touched; with several relays,
  each run's recovery row is locked while its state is read again and the run rescheduled, so
  one crash is recovered once.

Run: `xuncha relay` (PREFECT_API_URL set), or `python -m deployments.ops.relay`."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from models.clock import now as clock_now
from models.db import session_scope
from models.settings import Settings, get_settings
from tasks.infra.alerts import AppriseSender, Sender, deliver_due
from tasks.lifecycle import approvals, rounds
from tasks.lifecycle.prefect import refresh_gate_texts
from tasks.ops.launch import (
    start_common_grouping,
    start_look_back,
    wake_for_close_out,
    wake_for_plan,
    wake_round,
)
from tasks.ops.recovery import CrashedRun, is_silent, plan_recoveries
from tasks.supervision import close_out, common_problems, look_back
from tasks.supervision import rectification as supervision

log = logging.getLogger("xuncha.relay")

HEARTBEAT = "prefect.flow-run.heartbeat"
ROUND_WAKE_DAYS = 7  # a finished round's run is looked at for this long after its last unit archived


@dataclass
class TickResult:
    sent: int = 0
    failed: int = 0
    reminded: int = 0
    started: list[int] = field(default_factory=list)
    groupings: list[int] = field(default_factory=list)
    woken: list[int] = field(default_factory=list)  # inspections whose run was woken for its plan or close-out
    refreshed: int = 0  # waiting gates whose description was rewritten with new figures
    marked_crashed: list[str] = field(default_factory=list)
    rescheduled: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _start_each(pending: list[int], start: Callable[[int], Any], started: list[int], message: str) -> None:
    """Start the run of each registered item that has none yet; note it and log it."""
    for item_id in pending:
        start(item_id)
        started.append(item_id)
        log.info(message, item_id)


def _wake_each(waiting: list[tuple[int, str]], wake: Callable[[int, str, Any], bool], result: TickResult,
               client: Any, message: str) -> None:
    """Wake each unit run still waiting for what has now happened; note it and log it."""
    for inspection_id, run_id in waiting:
        if wake(inspection_id, run_id, client):
            result.woken.append(inspection_id)
            log.info(message, inspection_id)


class Relay:
    def __init__(self, settings: Settings | None = None, sender: Sender | None = None) -> None:
        self.settings = settings or get_settings()
        self.sender = sender or AppriseSender(self.settings.alert_send_timeout)
        self._next_housekeeping = 0.0
        self.stopping = threading.Event()

    # One pass ------------------------------------------------------------------------------

    def tick(self, *, housekeeping: bool | None = None) -> TickResult:
        """Deliver what is due; every `housekeeping_seconds` also remind, start and recover.
        Each part is isolated: a failing part is logged and the others still run."""
        result = TickResult()
        if housekeeping is None:
            housekeeping = time.monotonic() >= self._next_housekeeping
        if housekeeping:
            self._next_housekeeping = time.monotonic() + self.settings.housekeeping_seconds
            self._guard(result, "催办", lambda: self.remind(result))
        # Delivery does not wait on the Prefect server (which the parts below need).
        self._guard(result, "投递提醒", lambda: self.deliver(result))
        if housekeeping:
            self._guard(result, "启动回头看", lambda: self.start_registered(result))
            self._guard(result, "启动共性问题归类", lambda: self.start_groupings(result))
            self._guard(result, "唤醒等待整改方案的单位", lambda: self.wake_plans(result))
            self._guard(result, "唤醒等待销号的单位", lambda: self.wake_close_outs(result))
            self._guard(result, "唤醒已完成的巡察轮次", lambda: self.wake_rounds(result))
            self._guard(result, "更新审批说明", lambda: self.refresh_texts(result))
            self._guard(result, "恢复中断运行", lambda: self.recover(result))
        return result

    def _guard(self, result: TickResult, what: str, part: Any) -> None:
        try:
            part()
        except Exception as exc:  # noqa: BLE001 - the relay outlives a server hiccup
            log.warning("%s失败，下一轮重试：%s：%s", what, type(exc).__name__, str(exc)[:300])
            result.errors.append(f"{what}：{type(exc).__name__}")

    def deliver(self, result: TickResult) -> None:
        with session_scope() as s:
            done = deliver_due(session=s, sender=self.sender, settings=self.settings, now=clock_now())
        result.sent, result.failed = done.sent, done.failed
        if done.failed:
            log.warning("有%d条提醒发送失败，将按退避策略重试：%s", done.failed, "；".join(done.errors[:5]))
        if done.gave_up:
            log.warning("有%d条提醒多次发送失败，已标为无法送达、不再重试，列在巡察办的“未送达提醒”页面", done.gave_up)

    def remind(self, result: TickResult) -> None:
        with session_scope() as s:
            result.reminded = approvals.remind_waiting(session=s, settings=self.settings, now=clock_now())
        if result.reminded:
            log.info("催办等待中的审批%d项", result.reminded)

    def start_registered(self, result: TickResult) -> None:
        with session_scope() as s:
            pending = look_back.to_start(session=s)
        _start_each(pending, start_look_back, result.started, "已启动回头看%d（登记后尚未启动）")

    def start_groupings(self, result: TickResult) -> None:
        with session_scope() as s:
            common_problems.register_due(session=s, now=clock_now())
        with session_scope() as s:
            pending = common_problems.to_start(session=s)
        _start_each(pending, start_common_grouping, result.groupings, "已启动共性问题归类%d（本轮报告均已审议通过）")

    def wake_plans(self, result: TickResult, client: Any = None) -> None:
        with session_scope() as s:
            waiting = supervision.plans_to_review(session=s)
        _wake_each(waiting, wake_for_plan, result, client, "巡察任务%d：整改方案已报送，单位巡察流程仍在等待，已唤醒")

    def wake_close_outs(self, result: TickResult, client: Any = None) -> None:
        with session_scope() as s:
            waiting = close_out.close_outs_due(session=s)
        _wake_each(waiting, wake_for_close_out, result, client, "巡察任务%d：有整改事项待销号，单位巡察流程仍在等待，已唤醒")

    def wake_rounds(self, result: TickResult, client: Any = None) -> None:
        """Round runs still waiting after their last unit was archived (a wake-up lost) end now."""
        with session_scope() as s:
            done = rounds.recently_done(session=s, since=clock_now() - timedelta(days=ROUND_WAKE_DAYS))
        for round_id, run_id in done:
            if wake_round(round_id, run_id, client):
                log.info("巡察轮次%d：各单位均已归档，轮次流程仍在等待，已唤醒", round_id)

    def refresh_texts(self, result: TickResult) -> None:
        """The waiting gates' forms show the figures as they are now (tasks/lifecycle/gate_summary.py)."""
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            result.refreshed = refresh_gate_texts(client)

    # Runs whose process died ---------------------------------------------------------------

    def recover(self, result: TickResult) -> None:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            result.marked_crashed = self._mark_silent_runs(client)
            result.rescheduled = self._reschedule_crashed(client)

    def _runs_in(self, client: Any, state: Any, **extra: Any) -> list[Any]:
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
            WorkPoolFilter,
            WorkPoolFilterName,
        )

        return list(client.read_flow_runs(
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[state])), **extra),
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[self.settings.work_pool])),
            limit=200))

    def _last_heartbeat(self, client: Any, run_id: UUID, since: datetime) -> datetime | None:
        from prefect.events.filters import (
            EventFilter,
            EventNameFilter,
            EventOccurredFilter,
            EventResourceFilter,
        )

        page = client.read_events(filter=EventFilter(
            occurred=EventOccurredFilter(since=since, until=clock_now() + timedelta(minutes=5)),
            event=EventNameFilter(name=[HEARTBEAT]),
            resource=EventResourceFilter(id=[f"prefect.flow-run.{run_id}"])), limit=1)
        return page.events[0].occurred if page.events else None

    def _mark_silent_runs(self, client: Any) -> list[str]:
        """A run Prefect still calls Running whose process stopped beating (the machine or the
        worker and the run's process died together): marked Crashed, so it is recovered below.
        The run is read again just before, and left alone unless still in the same Running state."""
        from prefect.client.schemas.objects import StateType
        from prefect.states import Crashed

        window = timedelta(seconds=self.settings.zombie_seconds)
        marked = []
        for run in self._runs_in(client, StateType.RUNNING):
            now = clock_now()
            if run.state is None or not is_silent(state_since=run.state.timestamp, last_heartbeat=None, now=now,
                                                  window=window):
                continue
            beat = self._last_heartbeat(client, run.id, now - window)
            current = client.read_flow_run(run.id).state
            if current is None or current.type != StateType.RUNNING or current.id != run.state.id:
                continue  # it moved on (waiting, finished, crashed) while we looked
            if not is_silent(state_since=current.timestamp, last_heartbeat=beat, now=clock_now(), window=window):
                continue
            client.set_flow_run_state(run.id, Crashed(
                message=f"运行失联：超过{int(window.total_seconds())}秒没有心跳，已标记为中断，将自动恢复"))
            marked.append(str(run.id))
            log.warning("运行“%s”超过%d秒没有心跳，标记为中断", run.name, int(window.total_seconds()))
        return marked

    def _reschedule_crashed(self, client: Any) -> list[str]:
        from prefect.client.schemas.filters import FlowRunFilterExpectedStartTime
        from prefect.client.schemas.objects import StateType
        from prefect.exceptions import ObjectNotFound
        from prefect.states import Scheduled

        runs = self._runs_in(client, StateType.CRASHED, expected_start_time=FlowRunFilterExpectedStartTime(
            after_=clock_now() - timedelta(days=30)))
        crashed, names = [], {}
        for run in runs:
            if not run.deployment_id:
                continue
            current = client.read_flow_run(run.id).state
            if current is None or current.type != StateType.CRASHED:
                continue
            if run.deployment_id not in names:
                try:
                    names[run.deployment_id] = client.read_deployment(run.deployment_id).name
                except ObjectNotFound:  # a deployment since retired (deployments/ops/retired.py)
                    names[run.deployment_id] = ""
            if not names[run.deployment_id]:
                continue
            crashed.append(CrashedRun(id=str(run.id), name=run.name, deployment=names[run.deployment_id]))
        def still_crashed(run: CrashedRun) -> bool:
            state = client.read_flow_run(UUID(run.id)).state
            return state is not None and state.type == StateType.CRASHED

        def reschedule(run: CrashedRun, attempt: int) -> None:
            client.set_flow_run_state(UUID(run.id), Scheduled(message=f"运行中断后自动恢复（第{attempt}次）"), force=True)
            log.info("运行“%s”中断，已重新安排（第%d次）", run.name, attempt)

        rescheduled: list[str] = []
        for run in crashed:  # one transaction per run: its row stays locked from the check to the act
            with session_scope() as s:
                again = plan_recoveries(session=s, settings=self.settings, crashed=[run], now=clock_now(),
                                        still_crashed=still_crashed, reschedule=reschedule)
            rescheduled += [r.id for r, _ in again]
        return rescheduled

    # The loop ------------------------------------------------------------------------------

    def run_forever(self) -> None:
        log.info("投递进程已启动：每%.0f秒投递提醒，每%.0f秒催办、启动回头看和共性问题归类、唤醒等待整改方案的单位、恢复中断运行",
                 self.settings.relay_seconds, self.settings.housekeeping_seconds)
        while not self.stopping.is_set():
            self.tick()
            self.stopping.wait(self.settings.relay_seconds)
        log.info("投递进程已停止")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per API call otherwise
    relay = Relay()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: relay.stopping.set())
    relay.run_forever()


if __name__ == "__main__":
    main()
