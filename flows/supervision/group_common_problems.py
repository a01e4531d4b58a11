"""共性问题归类: the office confirms the round's common problems (with the leader in charge and
the departments) in a form. Started by itself once every unit's report is approved (and again
for common findings that arrive after a confirmation): by the unit flow that saw the last
report approved, or by the relay's housekeeping; it may also be started by hand."""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows.lifecycle.gates import InTask, await_gate
from flows.outcome import ends_in_chinese
from models.enums import Gate
from models.forms import CommonGroupIn, common_form
from tasks.lifecycle.answers import AnswerCheck
from tasks.ops.run_names import named_as
from tasks.supervision.prefect import (
    confirm_common_task,
    propose_common_task,
)


@flow(name="共性问题归类", flow_run_name=named_as("共性问题归类"), persist_result=True)
@ends_in_chinese
def group_common_problems(round_name: str, attempt: int | None = None) -> int:
    """本轮各单位巡察报告审议通过后自动发起：问题清单中标为共性问题的问题按问题类别归组，由巡察办确认分管领导和责任部门后发出领办函。"""
    log = get_run_logger()
    info = propose_common_task(round_name, attempt)
    if info.busy:
        log.info("%s：共性问题归类已在另一运行中等待确认：%s", round_name, info.busy)
        return 0
    if not info.proposals:
        log.info("%s：%s", round_name, info.waiting or "没有待归类的共性问题")
        return 0
    n = info.attempt
    listing = "\n".join(f"- {line}" for line in info.notes)
    later = "" if n == 1 else "（此前确认后新出现的共性问题；同类问题可并入已确认的共性问题）"
    answer = await_gate(
        common_form(list(info.leaders), list(info.departments)), gate=Gate.COMMON, round_id=info.round_id, inspection_id=None, attempt=n,
        description=(f"## {round_name}：共性问题归类（第{n}次）{later}\n\n"
                     "本轮各单位巡察报告均已审议通过。问题清单中标为“共性问题”的问题按问题类别归为以下各组"
                     "（括号内为问题编号），请核对、调整，并为每组选择分管领导和责任部门（均取自组织数据；"
                     "已按不领办涉及本人所在单位的问题预选分管领导）：\n\n"
                     f"{listing}\n\n确认后向分管领导发出《关于落实巡察整改工作任务的函》，各组问题的整改事项由分管领导督办，"
                     "直至该共性问题销号。未列入任何一组的问题改为个性问题，由所在单位的联系领导督办。"
                     "确认之前，有共性问题的单位不能整改销号归档。"),
        initial={"groups": [g.model_dump() for g in info.proposals]},
        validate=InTask(AnswerCheck.COMMON),  # a dry run of the confirmation (round and attempt: the approval's)
    )
    return confirm_common_task(info.round_id, n, _rows(answer.groups), answer.approver)


def _rows(groups: list[CommonGroupIn]) -> list[CommonGroupIn]:
    """The form's rows (of a class built for the org data's choices) as the plain rows tasks take."""
    return [CommonGroupIn.model_validate(g.model_dump()) for g in groups]
