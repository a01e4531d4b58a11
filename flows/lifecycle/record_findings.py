"""The team records findings during stationing through this deployment's form."""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows.outcome import ends_in_chinese
from models.clock import now
from models.db import session_scope
from models.forms import FindingsParams
from tasks.lifecycle.findings import find_inspection, record_findings
from tasks.lifecycle.prefect import refresh_gate_texts_task, retry_unless_domain_error
from tasks.ops.run_names import named_as


@task(name="登记问题", retries=2, retry_delay_seconds=[2, 5], retry_condition_fn=retry_unless_domain_error,
      persist_result=True)
def record_task(params: FindingsParams) -> tuple[int, int]:
    """(the inspection, how many findings were recorded)."""
    with session_scope() as s:
        insp = find_inspection(session=s, round_name=params.round_name, unit_name=params.unit_name)
        assert insp.id is not None
        return insp.id, len(record_findings(session=s, inspection=insp, findings=params.findings, by="巡察组", now=now()))


@flow(name="登记问题", flow_run_name=named_as("登记问题"), persist_result=True)
@ends_in_chinese
def record_findings_flow(params: FindingsParams) -> int:
    """巡察组在集中巡察期间登记发现的问题。"""
    inspection_id, count = record_task(params)
    refresh_gate_texts_task(inspection_id)  # the stationing gate's form shows them at once
    get_run_logger().info("%s·%s：已登记%d个问题", params.round_name, params.unit_name, count)
    return count
