"""The inspected unit reports rectification progress through this deployment's form."""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows.outcome import ends_in_chinese
from models.forms import ProgressParams
from tasks.ops.run_names import named_as
from tasks.supervision.prefect import report_progress_task, wake_unit_task


@flow(name="报送整改进展", flow_run_name=named_as("报送整改进展"), persist_result=True)
@ends_in_chinese
def report_progress(params: ProgressParams) -> int:
    """被巡察单位逐项报送整改进展；勾选“正式整改情况报告”即视为按期报送整改报告。"""
    count = report_progress_task(params)
    log = get_run_logger()
    log.info("%s·%s：报送%d项整改进展", params.round_name, params.unit_name, count)
    if wake_unit_task(params.round_name, params.unit_name):
        log.info("%s·%s：有事项已完成待核，已唤醒单位巡察流程，进入整改销号", params.round_name, params.unit_name)
    return count
