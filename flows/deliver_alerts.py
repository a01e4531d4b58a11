"""Scheduled every minute: remind approvers of waiting gates, deliver every alert that is due,
and start again runs that crashed (their process or machine died)."""

from __future__ import annotations

from prefect import flow

from flows.recover_runs import recover_crashed
from tasks.flow_tasks import deliver_alerts_task


@flow(name="投递提醒", persist_result=True)
def deliver_alerts() -> dict[str, int]:
    """催办等待中的审批、投递到期的提醒（失败的按退避策略重试），并恢复中断的运行。"""
    recovered = recover_crashed()
    return deliver_alerts_task() | {"recovered": recovered}
