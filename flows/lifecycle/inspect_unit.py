"""One inspected unit through stationing, reporting, feedback, clue transfer, rectification
and archiving. Re-entrant: run again from the top, it skips what the database says is done."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from flows.lifecycle.gates import InTask, await_condition, await_gate
from flows.outcome import ends_in_chinese
from models.enums import Gate, Stage
from models.forms import (
    CloseOutApproval,
    ClueTransferApproval,
    RectPlanReview,
    ReportReview,
    StationingDone,
)
from models.handoffs import PlanStep, PlanStepItem
from models.transitions import InspectionState, StepKind, Work, next_step
from tasks.lifecycle.answers import AnswerCheck
from tasks.lifecycle.prefect import (
    archiving_task,
    close_out_task,
    clue_transfer_task,
    feedback_task,
    publish_round_units_task,
    read_inspection,
    rectification_task,
    reporting_task,
    review_task,
    stationing_task,
    wake_round_task,
)
from tasks.ops.launch import close_wait_key, plan_wait_key
from tasks.records.prefect import unit_figures_task
from tasks.supervision.prefect import (
    plan_step_task,
    review_plan_task,
    start_common_grouping_task,
)


def _plan_in(inspection_id: int) -> bool:
    """The wait for the plan is over: a plan is in, or there is nothing left to plan."""
    state = read_inspection(inspection_id)
    return state.plan_submitted or not state.waiting_for_plan


def _close_out_due(inspection_id: int) -> bool:
    """The wait for 整改销号 is over: items are reported done, or there is nothing left open."""
    state = read_inspection(inspection_id)
    return state.stage is not Stage.RECTIFICATION or bool(state.items_to_close) or not state.open_items


def _awaiting_close_out(state: InspectionState) -> str:
    return (f"## {state.label}：督促整改中\n\n未销号整改事项 **{state.open_items}** 项，暂无单位报送“已完成待核”的事项，"
            "巡察办暂无需办理整改销号。\n\n单位通过部署“报送整改进展”（或巡察办的整改事项页面）报送整改进展；"
            "有事项报送为“已完成待核”后，本流程自动进入“整改销号”，此处无需填写。\n")


def _items_list(items: tuple[PlanStepItem, ...]) -> str:
    """The items as a list (a table scrolls sideways on a phone)."""
    return "".join(f"- {i.no}号：{i.problem}\n" for i in items)


def _awaiting_plan(step: PlanStep) -> str:
    again = f"整改方案已退回修改（意见：{step.returned}），请修改后重新报送。\n\n" if step.returned else ""
    due = f"应于 **{step.due}** 前" if step.due else ""
    return (f"## {step.label}：等待报送整改方案\n\n{again}单位{due}通过部署“报送整改方案”报送整改方案"
            "（逐项填写整改措施、责任人和完成时限；整改事项可填编号或问题描述）。报送后本流程自动进入“整改方案审核”，"
            "此处无需填写。\n\n" + _items_list(step.items))


@flow(name="单位巡察", persist_result=True)  # named 单位巡察·<轮次>·<单位> by start_unit_task
@ends_in_chinese
def inspect_unit(inspection_id: int) -> str:
    """被巡察单位的巡察全过程（由巡察轮次自动启动）。"""
    log = get_run_logger()
    state = read_inspection(inspection_id)
    done: set[Work] = set()  # the once-per-pass work taken in this pass
    plan_attempt = close_attempt = 1
    # The stage table decides what comes next (models/transitions.next_step); this loop only does it.
    while (step := next_step(state, done=frozenset(done))).kind is not StepKind.DONE:
        if step.once and step.work is not None:
            done.add(step.work)
        n = state.search_count
        moved: InspectionState | None = None  # a stage task's state after its work (read there, not again)
        match step.work:
            case Work.STATIONING:
                moved = stationing_task(inspection_id)
            case Work.REPORTING:
                # An indicator not examined or a method not used needs a reason (#27); asked once per
                # search, the gate's attempt is the search count the check keeps the reason under.
                answer = await_gate(
                    StationingDone, gate=Gate.STATIONING_DONE, round_id=state.round_id, inspection_id=inspection_id,
                    attempt=n, validate=InTask(AnswerCheck.COVERAGE),
                )
                moved = reporting_task(inspection_id, n, answer.approver, answer.comment)
            case Work.REPORT_REVIEW:
                review = await_gate(
                    ReportReview, gate=Gate.REPORT, round_id=state.round_id, inspection_id=inspection_id, attempt=n,
                )
                moved = review_task(inspection_id, n, review.approved, review.comment)
            case Work.COMMON_GROUPING:
                # Past 报告审议: the unit that saw the round's last report approved starts its
                # common-problem grouping (checked on every pass, as late common findings register another).
                grouping = start_common_grouping_task(state.round_id, return_state=True)
                if not grouping.is_completed():  # the relay starts a registered grouping anyway
                    log.warning("%s：共性问题归类暂未启动（投递进程将补启动）：%s", state.label, grouping.message)
                continue
            case Work.FEEDBACK:
                moved = feedback_task(inspection_id)
            case Work.CLUE_TRANSFER:
                approved = True
                if step.gate is not None:
                    clues = await_gate(
                        ClueTransferApproval, gate=Gate.CLUE_TRANSFER, round_id=state.round_id,
                        inspection_id=inspection_id, attempt=1,
                    )
                    approved = clues.approved
                moved = clue_transfer_task(inspection_id, approved)
            case Work.RECTIFICATION:
                moved = rectification_task(inspection_id)
            case Work.PLAN:
                plan_step = plan_step_task(inspection_id)
                if step.kind is StepKind.WAIT_FOR_PLAN:
                    # Wait for 报送整改方案, which wakes this run.
                    publish_round_units_task(state.round_id)
                    await_condition(lambda: _plan_in(inspection_id), key=plan_wait_key(inspection_id, plan_attempt),
                                    description=_awaiting_plan(plan_step))
                else:
                    plan = await_gate(
                        RectPlanReview, gate=Gate.RECT_PLAN, round_id=state.round_id, inspection_id=inspection_id,
                        attempt=plan_attempt,
                    )
                    moved = review_plan_task(inspection_id, plan_attempt, plan.approved, plan.comment)
                    plan_attempt += 1
            case Work.CLOSE_OUT if step.kind is StepKind.WAIT_FOR_CLOSE_OUT:
                # Nothing to decide until the unit reports items done (报送整改进展), which wakes this run.
                publish_round_units_task(state.round_id)
                await_condition(lambda: _close_out_due(inspection_id), key=close_wait_key(inspection_id, close_attempt),
                                description=_awaiting_close_out(state))
            case Work.CLOSE_OUT:
                close = await_gate(
                    CloseOutApproval, gate=Gate.CLOSE_OUT, round_id=state.round_id, inspection_id=inspection_id,
                    attempt=close_attempt,
                    # Leaving rectification archives the unit: its common findings must be led first.
                    validate=InTask(AnswerCheck.CLOSE_OUT),
                )
                moved = close_out_task(inspection_id, close_attempt, close.approved, close.comment)
                close_attempt += 1
            case Work.ARCHIVING:
                state = archiving_task(inspection_id)
                # The unit's figures at archiving, counts only (tasks/records/statistics.py has the definitions).
                create_table_artifact(key=f"unit-figures-{inspection_id}", table=unit_figures_task(inspection_id).records(),
                                      description=f"{state.label}：巡察工作统计（归档时）")
                wake_round_task(state.round_id)  # the round's last unit: its round run ends
                continue
            case None:
                raise AssertionError(f"no work for {step}")  # only DONE has none, and the loop ends there
        before, state = state.stage, moved or read_inspection(inspection_id)  # after a wait: read afresh
        if step.kind is StepKind.RUN and step.leads_to and state.stage is before:
            break  # a stage task that did not move the stage (cannot happen): end the pass, as before
    publish_round_units_task(state.round_id)
    log.info("%s：%s", state.label, state.stage)
    return str(state.stage)
