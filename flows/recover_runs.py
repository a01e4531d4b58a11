"""Recovery of crashed runs: finds flow runs of this project's work pool that crashed and
schedules each again (bounded); a run that keeps crashing is reported to the office instead.
Called every minute by 投递提醒 (flows/deliver_alerts.py), so no process of its own is started."""

from __future__ import annotations

from datetime import timedelta

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
    WorkPoolFilter,
    WorkPoolFilterName,
)
from prefect.client.schemas.objects import StateType
from prefect.states import Scheduled

from models.clock import now
from models.db import session_scope
from models.settings import get_settings
from tasks.recovery import CrashedRun, plan_recoveries

LOOK_BACK_DAYS = 30


@task(name="查找中断运行", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def crashed_runs() -> list[CrashedRun]:
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.CRASHED])),
                expected_start_time=FlowRunFilterExpectedStartTime(after_=now() - timedelta(days=LOOK_BACK_DAYS)),
            ),
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[get_settings().work_pool])),
            limit=200,
        )
        names: dict[object, str] = {}
        for r in runs:
            if r.deployment_id and r.deployment_id not in names:
                names[r.deployment_id] = client.read_deployment(r.deployment_id).name
    return [CrashedRun(id=str(r.id), name=r.name, deployment=names[r.deployment_id]) for r in runs if r.deployment_id]


@task(name="重新安排运行", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def reschedule(run: CrashedRun, attempt: int) -> None:
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run.id, Scheduled(message=f"运行中断后自动恢复（第{attempt}次）"), force=True)


def recover_crashed() -> int:
    """Schedule again the crashed runs that may be; returns how many."""
    crashed = crashed_runs()
    if not crashed:
        return 0
    with session_scope() as s:
        again = plan_recoveries(session=s, settings=get_settings(), crashed=crashed, now=now())
    for run, attempt in again:
        reschedule(run, attempt)
    if crashed:
        get_run_logger().info("中断运行%d个，重新安排%d个", len(crashed), len(again))
    return len(again)
