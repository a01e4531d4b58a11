"""A round: create it, prepare each unit, get the plan and teams approved, then start one
independent `单位巡察` flow run per unit (each can wait at its own gates for days)."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Completed

from flows.lifecycle.gates import await_gate
from flows.outcome import ends_in_chinese
from models.enums import Gate
from models.forms import PlanApproval, RoundParams
from tasks.lifecycle.prefect import (
    create_round_task,
    preparation_task,
    publish_round_units_task,
    refresh_forms_task,
    settle_plan_task,
    start_unit_task,
    teams_markdown_task,
)
from tasks.ops.run_names import named_as


@flow(name="巡察轮次", flow_run_name=named_as("发起巡察"), persist_result=True)
@ends_in_chinese
def run_inspection_round(params: RoundParams) -> Any:
    """启动一轮巡察：巡察准备、方案及组成人员审批，然后各被巡察单位分别进入集中巡察。"""
    log = get_run_logger()
    round_id, inspection_ids = create_round_task(params)
    refresh_forms_task()
    for inspection_id in inspection_ids:
        preparation_task(inspection_id)
    teams = teams_markdown_task(round_id)
    answer = await_gate(
        PlanApproval, gate=Gate.PLAN, round_id=round_id, inspection_id=None, attempt=1,
        description=(
            f"## {params.name}（{params.kind}）\n\n进驻时间：{params.start_date} 至 {params.end_date}\n\n"
            + teams +
            "\n\n组成人员已按回避制度核查。请领导小组审批工作方案及组成人员。"),
    )
    status = settle_plan_task(round_id, answer.approved)
    if not answer.approved:
        log.info("%s：方案退回（%s）", params.name, answer.comment)
        return status
    for inspection_id in inspection_ids:
        start_unit_task(inspection_id)
    publish_round_units_task(round_id)
    # The round's run ends here; its units go on in runs of their own, listed in the table
    # artifact 本轮各单位 that every unit run keeps up to date.
    return Completed(message=f"方案已批准，{len(inspection_ids)}个单位的巡察流程已启动（见本运行的工件“各被巡察单位”）",
                     data=status)
