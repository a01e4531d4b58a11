"""A round: create it, prepare each unit, get the plan and teams approved, then start one
independent `单位巡察` flow run per unit (each can wait at its own gates for days)."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.gates import await_gate
from models.enums import Gate
from models.forms import PlanApproval, RoundParams
from tasks.flow_tasks import (
    create_round_task,
    deliver_alerts_task,
    preparation_task,
    read_inspection,
    settle_plan_task,
    start_unit_task,
    teams_markdown_task,
)


@flow(name="巡察轮次", flow_run_name="{params.name}", persist_result=True)
def run_inspection_round(params: RoundParams) -> str:
    """启动一轮巡察：巡察准备、方案及组成人员审批，然后各被巡察单位分别进入集中巡察。"""
    log = get_run_logger()
    round_id, inspection_ids = create_round_task(params)
    for inspection_id in inspection_ids:
        preparation_task(inspection_id)
    deliver_alerts_task()
    teams = teams_markdown_task(round_id)
    answer = await_gate(
        PlanApproval, gate=Gate.PLAN, round_id=round_id, inspection_id=None, attempt=1,
        description=(
            f"## {params.name}（{params.kind}）\n\n进驻时间：{params.start_date} 至 {params.end_date}\n\n"
            + teams +
            "\n\n组成人员已按回避制度核查。请领导小组审批工作方案及组成人员。"),
    )
    status = settle_plan_task(round_id, answer.decision == "批准")
    if answer.decision != "批准":
        log.info("%s：方案退回（%s）", params.name, answer.comment)
        deliver_alerts_task()
        return status
    links = []
    for inspection_id in inspection_ids:
        run_id = start_unit_task(inspection_id)
        links.append(f"| {read_inspection(inspection_id)['label']} | [单位巡察流程](/runs/flow-run/{run_id}) |")
    create_markdown_artifact(
        key=f"round-{round_id}-units", description="本轮各被巡察单位的巡察流程",
        markdown=f"# {params.name}\n\n| 被巡察单位 | 流程 |\n|---|---|\n" + "\n".join(links),
    )
    deliver_alerts_task()
    return status
