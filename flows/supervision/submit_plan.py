"""The inspected unit submits its rectification plan (整改方案) through this deployment's form."""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows.outcome import ends_in_chinese
from models.forms import PlanParams
from tasks.ops.run_names import named_as
from tasks.supervision.prefect import submit_plan_task, wake_unit_task


@flow(name="报送整改方案", flow_run_name=named_as("报送整改方案"), persist_result=True)
@ends_in_chinese
def submit_plan(params: PlanParams) -> int:
    """被巡察单位报送整改方案：逐项填写整改措施、责任人和完成时限（整改事项可填编号或问题描述），报巡察办审核。"""
    count = submit_plan_task(params)
    log = get_run_logger()
    log.info("%s·%s：报送整改方案%d项", params.round_name, params.unit_name, count)
    if wake_unit_task(params.round_name, params.unit_name):
        log.info("%s·%s：已唤醒单位巡察流程，进入整改方案审核", params.round_name, params.unit_name)
    return count
