"""The receiving body signs for a clue transfer letter (线索移交函) through this deployment's
form. Only the letter's number, the signer and the one-time code pass through Prefect."""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows.outcome import ends_in_chinese
from models.forms import AckParams
from tasks.clues.prefect import acknowledge_letter_task
from tasks.ops.run_names import named_as


@flow(name="签收线索移交函", flow_run_name=named_as("签收线索移交函"), persist_result=True)
@ends_in_chinese
def acknowledge_letter(params: AckParams) -> int:
    """接收单位（纪委监委、组织部、职能部门）签收线索移交函；签收人须为该单位在册用户，并填写提醒中的签收码。"""
    count = acknowledge_letter_task(params)
    get_run_logger().info("移交函%d已签收，线索%d件", params.letter_id, count)
    return count
