"""The inspected unit submits its rectification plan (整改方案) through this deployment's form."""

from __future__ import annotations

from prefect import flow, get_run_logger

from models.forms import PlanParams
from tasks.lifecycle.prefect import submit_plan_task


@flow(name="报送整改方案", persist_result=True)
def submit_plan(params: PlanParams) -> int:
    """被巡察单位报送整改方案：逐项填写整改措施、责任人和完成时限，报巡察办审核。"""
    count = submit_plan_task(params)
    get_run_logger().info("%s·%s：报送整改方案%d项", params.round_name, params.unit_name, count)
    return count
