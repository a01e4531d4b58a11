"""回头看: started by the supervision sweep for a lagging unit. Composes a team with recusal,
waits for the team's item-by-item verification, then records results and accountability."""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows.lifecycle.gates import InTask, await_gate
from flows.outcome import ends_in_chinese
from models.enums import Gate
from models.forms import LookBackReport
from models.handoffs import LookBackRecorded
from tasks.lifecycle.answers import AnswerCheck, CheckOn
from tasks.supervision.prefect import (
    compose_look_back_team_task,
    record_look_back_task,
)


@flow(name="回头看", persist_result=True)  # named 回头看·<轮次>·<单位> by tasks/ops/launch.py
@ends_in_chinese
def look_back(look_back_id: int) -> LookBackRecorded:
    """对整改不力的单位开展回头看：逐项核查整改情况，记录新发现问题，落实问责。"""
    info = compose_look_back_team_task(look_back_id)
    rows = "\n".join(f"| {i.id} | {i.desc} | {i.status} | {i.deadline} |" for i in info.items)
    report = await_gate(
        LookBackReport, gate=Gate.LOOK_BACK, round_id=info.round_id, inspection_id=info.inspection_id, attempt=1,
        description=(f"## {info.unit}：回头看（{info.cause}）\n\n回头看组：{'；'.join(info.team)}\n\n"
                     "请逐项核查以下整改事项，结论为：已整改、部分整改、未整改、虚假整改。\n\n"
                     "| 编号 | 问题 | 状态 | 整改期限 |\n|---|---|---|---|\n" + rows),
        validate=InTask(AnswerCheck.LOOK_BACK, CheckOn(look_back_id=look_back_id)),
    )
    recorded = record_look_back_task(look_back_id, report.checks, report.new_findings, report.approver)
    get_run_logger().info("回头看%d：核查%d项%s，新发现问题%d个", look_back_id, recorded.checked,
                          "".join(f"，{k}{n}项" for k, n in recorded.by_result.items()), recorded.new_findings)
    return recorded
