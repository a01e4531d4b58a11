"""A round: create it, prepare each unit, get the plan and teams approved, then start one
independent `单位巡察` flow run per unit (each can wait at its own gates for days)."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Completed

from flows.lifecycle.gates import await_gate
from models.enums import Gate
from models.forms import PlanApproval, RoundParams
from tasks.lifecycle.prefect import (
    create_round_task,
    gate_text_task,
    preparation_task,
    publish_round_units_task,
    settle_plan_task,
    start_unit_task,
)


@flow(name="巡察轮次", flow_run_name="{params.name}", persist_result=True)
def run_inspection_round(params: RoundParams) -> Any:
    """启动一轮巡察：巡察准备、方案及组成人员审批，然后各被巡察单位分别进入集中巡察。"""
    log = get_run_logger()
    round_id, inspection_ids = create_round_task(params)
    for inspection_id in inspection_ids:
        preparation_task(inspection_id)
    answer = await_gate(PlanApproval, gate=Gate.PLAN, round_id=round_id, inspection_id=None, attempt=1,
                        description=gate_text_task(Gate.PLAN, round_id, None))
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
