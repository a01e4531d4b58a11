"""What earlier versions registered in Prefect and this one does not: removed when the stack
deploys, so an upgraded install stops running it. The every-minute 投递提醒 flow and the
heartbeat automation were replaced by the relay (deployments/ops/relay.py)."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

RETIRED_DEPLOYMENTS = ["投递提醒/定时投递"]
RETIRED_AUTOMATIONS = ["巡察：标记失联运行为中断"]


def remove_retired() -> list[str]:
    removed = []
    with get_client(sync_client=True) as client:
        for name in RETIRED_DEPLOYMENTS:
            try:
                deployment = client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
            client.delete_deployment(deployment.id)
            removed.append(name)
        for name in RETIRED_AUTOMATIONS:
            for automation in client.read_automations_by_name(name=name):
                client.delete_automation(automation.id)
                removed.append(name)
    return removed


if __name__ == "__main__":
    for name in remove_retired():
        print(f"已删除旧版本的部署或自动化：{name}")
