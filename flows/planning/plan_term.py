"""全覆盖: the coverage of a term (a monthly check with a pace warning) and the scheduler's
proposal of the remaining rounds, which the office approves or edits in a form."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.lifecycle.gates import InTask, await_gate
from flows.outcome import ends_in_chinese
from models.enums import Gate
from models.forms import TermPlanApproval, TermPlanParams
from models.handoffs import TermCoverage
from tasks.lifecycle.answers import AnswerCheck, CheckOn
from tasks.planning.prefect import (
    coverage_task,
    next_attempt_task,
    propose_task,
    save_plan_task,
    today,
    warn_pace_task,
)


def _publish_coverage(cov: TermCoverage, as_of: date) -> None:
    create_table_artifact(key=f"term-{cov.term_id}-coverage", table=cov.table.records(),
                          description=f"{cov.term} 全覆盖情况（{as_of}）")
    create_markdown_artifact(key=f"term-{cov.term_id}-summary", markdown=cov.markdown,
                             description=f"{cov.term} 全覆盖情况与进度预警（{as_of}）")


@flow(name="全覆盖进度", flow_run_name="全覆盖进度-{term}", persist_result=True)
@ends_in_chinese
def check_coverage(term: str, as_of: date | None = None) -> int:
    """任期全覆盖情况（已巡察、已排入计划、尚未安排，按单位类型），进度跟不上时提醒巡察办和领导小组。"""
    day = as_of or today()
    cov = coverage_task(term, day)
    _publish_coverage(cov, day)
    warn_pace_task(cov.term_id, day, cov.warnings)
    return cov.left


@flow(name="全覆盖排程", flow_run_name="全覆盖排程-{params.term}", persist_result=True)
@ends_in_chinese
def plan_term(params: TermPlanParams) -> str:
    """为任期内尚未巡察的单位提出剩余轮次安排（组合规则、容量、重点单位优先），由巡察办批准或调整后批准。"""
    log = get_run_logger()
    day = params.as_of or today()
    cov = coverage_task(params.term, day)
    _publish_coverage(cov, day)
    term_id = cov.term_id
    proposal = propose_task(term_id, day)
    if proposal.error:
        create_markdown_artifact(key=f"term-{term_id}-proposal", markdown=f"# 无法排程\n\n{proposal.error}",
                                 description="全覆盖排程")
        log.warning("%s：%s", cov.term, proposal.error)
        return proposal.error
    if not proposal.plan:
        return "任期内单位均已巡察，无需排程"
    plan = proposal.plan
    create_markdown_artifact(key=f"term-{term_id}-proposal", markdown=f"# {cov.term} 排程建议\n\n{proposal.markdown}",
                             description="全覆盖排程建议")
    answer = await_gate(
        TermPlanApproval, gate=Gate.TERM_PLAN, round_id=None, inspection_id=None, term_id=term_id,
        attempt=next_attempt_task(term_id),
        description=(f"## {cov.term}：全覆盖排程审批\n\n{cov.markdown}\n\n### 排程建议（{len(plan)}轮）\n\n"
                     f"{proposal.markdown}\n\n批准；或在“排程调整”中逐行写明要改的轮次后选择“按调整批准”；或退回（须填写意见）。"),
        validate=InTask(AnswerCheck.TERM_EDITS, CheckOn(plan=plan)),
    )
    if not answer.approved:
        log.info("%s：排程退回（%s）", cov.term, answer.comment)
        return "退回"
    saved = save_plan_task(term_id, plan, answer.edits if answer.adjusted else "", answer.approver)
    create_markdown_artifact(key=f"term-{term_id}-plan", markdown=f"# {cov.term} 已批准的排程\n\n{saved.markdown}",
                             description=f"{answer.approver}批准")
    return f"已批准：{saved.rounds}轮、{saved.units}个单位"
