"""Scheduled: remind approvers of waiting gates, then deliver every alert that is due."""

from __future__ import annotations

from prefect import flow

from tasks.flow_tasks import deliver_alerts_task


@flow(name="投递提醒", persist_result=True)
def deliver_alerts() -> dict[str, int]:
    """催办等待中的审批，并投递到期的提醒（失败的按退避策略重试）。"""
    return deliver_alerts_task()
