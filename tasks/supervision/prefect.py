"""Thin Prefect tasks over the supervision domain (tasks/supervision: rectification, plans,
progress, the daily sweep, look-backs, common problems). Like every area's prefect.py they take
and return record IDs and counts only. The bodies keep the function-level imports they had in
tasks/lifecycle/prefect.py: a task's cache key hashes its source, so moved unchanged they still
find the results persisted before the move (sweep_task's, compose_look_back_team_task's and
record_look_back_task's changed with their typed results: models/handoffs.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from sqlmodel import select

from models.clock import now
from models.db import session_scope
from models.forms import CommonGroupIn, FindingIn, ItemCheckIn, PlanParams, ProgressParams
from models.handoffs import (
    CommonProposal,
    LookBackBrief,
    LookBackItem,
    LookBackRecorded,
    PlanStep,
    SweepSummary,
    Table,
)
from models.settings import get_settings
from models.tables import Finding, Inspection, InspectionRound, Unit
from models.transitions import InspectionState
from tasks.lifecycle.prefect import (
    READ,
    STAGE,
    retry_unless_domain_error,
    run_link,
    stage_then_state,
)
from tasks.ops.launch import start_look_back

# The task bodies keep the names they were written with in tasks/lifecycle/prefect.py, for their cache keys.
_link, _retry_unless_domain_error = run_link, retry_unless_domain_error


@task(name="督办扫描", **STAGE)
def sweep_task(as_of: date, rate_below: float | None, overdue_days: int | None) -> SweepSummary:
    from tasks.supervision.rectification import sweep, unit_progress

    settings = get_settings()
    overrides: dict[str, Any] = {}
    if rate_below is not None:
        overrides["lookback_rate_below"] = rate_below
    if overdue_days is not None:
        overrides["lookback_overdue_days"] = overdue_days
    settings = settings.model_copy(update=overrides)
    from tasks.clues.ledger import clue_ledger

    with session_scope() as s:
        result = sweep(session=s, settings=settings, as_of=as_of, now=now(), link=_link())
        progress = unit_progress(session=s, settings=settings, as_of=as_of)
        ledger = clue_ledger(session=s, as_of=as_of)
    return SweepSummary(
        notices=result.notices, by_rung=result.by_rung, alerts=result.alerts, pace_warnings=result.pace_warnings,
        missing_reports=result.missing_reports, plan_notices=sum(result.plan_notices.values()),
        missing_plans=result.missing_plans, look_backs=result.look_backs, progress=progress, clue_ledger=ledger,
        clue_reminders=result.clue_reminders, common_reminders=result.common_reminders,
        held_until=str(result.held_until or ""), calendar_warnings=result.calendar_warnings,
        undelivered=result.undelivered, results_reminders=result.results_reminders)


@task(name="启动回头看", **STAGE)
def start_look_back_task(look_back_id: int) -> str:
    """Start the look-back's flow run once (the relay starts any the sweep did not)."""
    return start_look_back(look_back_id)


@task(name="回头看一览", **READ)
def look_backs_table_task() -> Table:
    """Every look-back with unit, reason, state and run link (names only: nothing confidential)."""
    from tasks.supervision.look_back import list_look_backs

    with session_scope() as s:
        return Table(columns=("编号", "轮次", "单位", "原因", "状态", "登记日期", "流程"),
                     rows=tuple((str(r.id), r.round, r.unit, r.cause, r.status, str(r.triggered_on), r.link or "（尚未启动）")
                                for r in list_look_backs(session=s, settings=get_settings())))


@task(name="组建回头看组", **STAGE)
def compose_look_back_team_task(look_back_id: int) -> LookBackBrief:
    from models.tables import LookBack
    from tasks.supervision.look_back import compose_team, items_to_verify

    with session_scope() as s:
        team = compose_team(session=s, look_back_id=look_back_id)
        lb = s.get(LookBack, look_back_id)
        assert lb is not None
        insp = s.get(Inspection, lb.source_inspection_id)
        assert insp is not None and insp.id is not None
        items = [LookBackItem(id=i.id, desc=getattr(s.get(Finding, i.finding_id), "description", ""), status=i.status,
                              deadline=str(i.deadline))
                 for i in items_to_verify(session=s, look_back_id=look_back_id) if i.id is not None]
        unit = s.get(Unit, lb.unit_id)
        return LookBackBrief(team=list(team), items=items, round_id=insp.round_id, inspection_id=insp.id,
                             unit=unit.name if unit else "", cause=lb.detail, status=lb.status)


@task(name="记录回头看结果", **STAGE)
def record_look_back_task(look_back_id: int, checks: list[ItemCheckIn], new_findings: list[FindingIn],
                          by: str) -> LookBackRecorded:
    from tasks.supervision.look_back import record_results

    with session_scope() as s:
        return record_results(session=s, settings=get_settings(), look_back_id=look_back_id, checks=checks,
                              new_findings=new_findings, by=by, as_of=now().date(), now=now(), link=_link())


@task(name="报送整改进展", **STAGE)
def report_progress_task(params: ProgressParams) -> int:
    from tasks.lifecycle.findings import find_inspection
    from tasks.supervision.rectification import report_progress

    with session_scope() as s:
        insp = find_inspection(session=s, round_name=params.round_name, unit_name=params.unit_name)
        return len(report_progress(session=s, settings=get_settings(), inspection=insp, reports=params.items,
                                   formal=params.formal, by=params.reporter, now=now()))


@task(name="报送整改方案", **STAGE)
def submit_plan_task(params: PlanParams) -> int:
    from tasks.lifecycle.findings import find_inspection
    from tasks.supervision.rectification import submit_plan

    with session_scope() as s:
        insp = find_inspection(session=s, round_name=params.round_name, unit_name=params.unit_name)
        return submit_plan(session=s, settings=get_settings(), inspection=insp, items=params.items, by=params.reporter,
                           now=now(), link=_link())


@task(name="唤醒单位巡察", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 5])
def wake_unit_task(round_name: str, unit_name: str) -> bool:
    """Wake the unit run waiting for this unit's plan or for items to close out. Never fails the
    submission (it is saved): a wake-up that does not happen here is done by the relay's next pass."""
    from tasks.lifecycle.findings import find_inspection
    from tasks.ops.launch import wake_unit

    with session_scope() as s:
        insp = find_inspection(session=s, round_name=round_name, unit_name=unit_name)
        iid, run_id = insp.id, insp.flow_run_id
    assert iid is not None
    if not run_id:
        return False
    try:
        return wake_unit(iid, run_id)
    except Exception as exc:  # noqa: BLE001 - the relay retries; the plan is already recorded
        get_run_logger().warning("未能唤醒单位巡察流程（%s），投递进程将稍后唤醒", type(exc).__name__)
        return False


@task(name="读取整改方案", **READ)
def plan_step_task(inspection_id: int) -> PlanStep:
    from tasks.supervision.rectification import plan_step

    with session_scope() as s:
        return plan_step(session=s, settings=get_settings(), inspection_id=inspection_id)


@task(name="整改方案审核结果", **STAGE)
def review_plan_task(inspection_id: int, attempt: int, approved: bool, comment: str) -> InspectionState:
    """The review, and the unit's state after it (tasks/lifecycle/prefect.py STAGE)."""
    from tasks.supervision.rectification import review_plan

    return stage_then_state(inspection_id, review_plan, settings=get_settings(), approved=approved, attempt=attempt,
                            comment=comment, now=now(), link=_link())


@task(name="启动共性问题归类", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[2, 5, 15],
      retry_condition_fn=_retry_unless_domain_error)
def start_common_grouping_task(round_id: int) -> list[str]:
    """Register the round's grouping once its reports are all approved, and start its run (once:
    the relay starts any left registered). Checked again on every pass, so never cached."""
    from models.tables import CommonGrouping
    from tasks.ops.launch import start_common_grouping
    from tasks.supervision.common_problems import register_due, to_start

    with session_scope() as s:
        register_due(session=s, now=now(), round_id=round_id)
        pending = [g for g in to_start(session=s) if getattr(s.get(CommonGrouping, g), "round_id", None) == round_id]
    return [start_common_grouping(g) for g in pending]


@task(name="共性问题建议", retry_condition_fn=_retry_unless_domain_error, **READ)
def propose_common_task(round_name: str, attempt: int | None = None) -> CommonProposal:
    """The grouping this run works on and its proposals (ids, titles and unit names only)."""
    from models.enums import GroupingStatus
    from tasks.supervision.common_problems import (
        default_leader,
        department_choices,
        grouping_for_run,
        leader_choices,
        proposal_line,
        propose_groups,
        settle_empty,
        waiting_reason,
    )

    me = flow_run.get_id() or ""
    with session_scope() as s:
        g = grouping_for_run(session=s, round_name=round_name, attempt=attempt, flow_run_id=me, now=now())
        rnd = s.exec(select(InspectionRound).where(InspectionRound.name == round_name)).one()
        assert rnd.id is not None
        if g is None:
            return CommonProposal(round_id=rnd.id, waiting=waiting_reason(session=s, round_id=rnd.id))
        assert g.id is not None
        if g.status == GroupingStatus.CONFIRMED:
            return CommonProposal(round_id=rnd.id, attempt=g.attempt)
        if g.flow_run_id and g.flow_run_id != me:
            if not _run_over(g.flow_run_id):
                return CommonProposal(round_id=rnd.id, attempt=g.attempt, busy=get_settings().run_link(g.flow_run_id))
            g.flow_run_id = me  # its run ended without a confirmation (cancelled, failed): this one takes over
            s.add(g)
        proposals = propose_groups(session=s, round_id=rnd.id, finding_ids=g.finding_ids)
        if not proposals:
            settle_empty(session=s, grouping_id=g.id, now=now())
        leaders = leader_choices(session=s)
        rows = tuple(  # prefilled with a leader who may lead it
            row.model_copy(update={"leader_in_charge": row.leader_in_charge or default_leader(leaders, p.unit_names)})
            for row, p in ((p.to_input(), p) for p in proposals))
        return CommonProposal(round_id=rnd.id, attempt=g.attempt, proposals=rows,
                              notes=tuple(proposal_line(p) for p in proposals), leaders=tuple(leaders),
                              departments=tuple(department_choices(session=s)))


def _run_over(flow_run_id: str) -> bool:
    """The run ended (or is gone): a grouping it held may be taken over by a run started by hand."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            state = client.read_flow_run(UUID(flow_run_id)).state
        except ObjectNotFound:
            return True
    return state is not None and state.is_final()


def _confirm(s: Any, round_id: int, attempt: int | None, groups: list[CommonGroupIn], by: str) -> list[Any]:
    from tasks.supervision.common_problems import confirm_groups

    return confirm_groups(session=s, settings=get_settings(), round_id=round_id, groups=groups, confirmed_by=by,
                          now=now(), link=_link(), attempt=attempt)


@task(name="确认共性问题", **STAGE)
def confirm_common_task(round_id: int, attempt: int | None, groups: list[CommonGroupIn], by: str) -> int:
    with session_scope() as s:
        return len(_confirm(s, round_id, attempt, groups, by))
