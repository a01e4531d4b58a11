"""A round: create it, prepare each unit, get the plan and teams approved, then start one
independent `单位巡察` flow run per unit (each can wait at its own gates for days). The round's
run then waits, suspended, until every unit is archived: it reads as still going (not Completed
with a Retry button) while its units work. Its state keeps Prefect's name "Suspended": Prefect
itself tells suspended runs by that name (prefect/_flow_run_suspension.py), so it is not renamed."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Completed

from flows.lifecycle.gates import await_condition, await_gate
from flows.outcome import ends_in_chinese
from models.enums import Gate
from models.forms import PlanApproval, RoundParams
from tasks.lifecycle.prefect import (
    create_round_task,
    preparation_task,
    publish_round_units_task,
    refresh_forms_task,
    round_done_task,
    settle_plan_task,
    start_unit_task,
)
from tasks.ops.launch import ROUND_WAIT
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
    answer = await_gate(PlanApproval, gate=Gate.PLAN, round_id=round_id, inspection_id=None, attempt=1)
    status = settle_plan_task(round_id, answer.approved)
    if not answer.approved:
        log.info("%s：方案退回（%s）", params.name, answer.comment)
        return status
    for inspection_id in inspection_ids:
        start_unit_task(inspection_id)
    publish_round_units_task(round_id)
    # The round's run waits (holding no process) while its units go on in runs of their own,
    # listed in its one table 各被巡察单位; the last unit's archiving wakes it, and it ends.
    await_condition(lambda: round_done_task(round_id), key=f"{ROUND_WAIT}-{round_id}", description=(
        f"## {params.name}：各被巡察单位巡察进行中\n\n方案已批准，{len(inspection_ids)}个单位的巡察流程已启动，"
        "各单位的阶段和等待办理的事项见本运行的工件“各被巡察单位”。本轮全部单位立卷归档后，本运行自动结束；"
        "此处无需办理。\n"))
    log.info("%s：各被巡察单位均已归档", params.name)
    return Completed(message=f"本轮{len(inspection_ids)}个单位均已立卷归档", data=status)
