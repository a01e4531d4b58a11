"""共性问题归类: propose groups of the same problem across a round's units, and let the office
confirm them (with the leader in charge and departments) in a form."""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows.lifecycle.gates import await_gate
from models.enums import Gate
from models.forms import CommonProblemsConfirm
from tasks.lifecycle.prefect import (
    common_problems_check_task,
    confirm_common_task,
    propose_common_task,
)


@flow(name="共性问题归类", flow_run_name="共性问题-{round_name}", persist_result=True)
def group_common_problems(round_name: str) -> int:
    """按问题类别和表述归并各单位的共性问题，由巡察办确认分管领导和责任部门后发出领办函。"""
    info = propose_common_task(round_name)
    if not info["proposals"]:
        get_run_logger().info("%s：未发现共性问题", round_name)
        return 0
    listing = "\n".join(f"- {n}" for n in info["notes"])
    answer = await_gate(
        CommonProblemsConfirm, gate=Gate.COMMON, round_id=info["round_id"], inspection_id=None, attempt=1,
        description=(f"## {round_name}：共性问题归类\n\n系统按问题类别和表述提出以下归类建议，请核对、调整，"
                     f"并为每组填写分管领导和责任部门：\n\n{listing}"),
        initial={"groups": info["proposals"]},
        validate=lambda a: common_problems_check_task(info["round_id"], a.groups, a.approver),
    )
    count = confirm_common_task(info["round_id"], answer.groups, answer.approver)
    return count
