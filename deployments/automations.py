"""The automation that turns silent runs into Crashed ones (Prefect's documented pattern for
"zombie" flow runs): a run that sent a heartbeat and then neither another heartbeat nor a final
or waiting state within ZOMBIE_AFTER is marked Crashed, and 恢复中断运行 picks it up.

Flow runs send heartbeats when PREFECT_FLOWS_HEARTBEAT_FREQUENCY is set (deployments/stack.py
sets it for the worker). Run: python -m deployments.automations (with PREFECT_API_URL set)."""

from __future__ import annotations

import os
from datetime import timedelta

from prefect.automations import Automation
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification

NAME = "巡察：标记失联运行为中断"
HEARTBEAT_SECONDS = 30
# Prefect's guide uses 90 s. On a loaded machine (2 cores, 50 rounds at once) heartbeat events
# reached the server late and live runs were taken for dead, so the default is 5 minutes;
# XUNCHA_ZOMBIE_SECONDS sets it (the end-to-end tests use 90 s).
ZOMBIE_AFTER = timedelta(seconds=int(os.environ.get("XUNCHA_ZOMBIE_SECONDS", "300")))


def zombie_automation() -> Automation:
    return Automation(
        name=NAME,
        description=f"运行发出心跳后，超过{int(ZOMBIE_AFTER.total_seconds())}秒既无心跳也无结束或挂起状态，即判定其进程已失联，"
                    "标记为中断（Crashed），由每分钟的“定时投递”重新安排。",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
                "prefect.flow-run.Paused",
                "prefect.flow-run.Suspended",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=ZOMBIE_AFTER,
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, message="运行失联（心跳中断），已标记为中断，将自动恢复")],
    )


def install() -> None:
    """Create the automation, replacing any of the same name (idempotent)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for existing in client.read_automations_by_name(name=NAME):
            client.delete_automation(existing.id)
    zombie_automation().create()


if __name__ == "__main__":
    install()
