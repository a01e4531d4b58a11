"""Thin Prefect tasks over the domain functions. They take and return record IDs only, so
nothing confidential reaches Prefect's parameters, results or logs."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from sqlmodel import select

from models.clock import now
from models.db import session_scope
from models.enums import Gate, Stage
from models.errors import DomainError
from models.forms import (
    AckParams,
    CommonGroupIn,
    FindingIn,
    ItemCheckIn,
    PlanParams,
    ProgressParams,
    RoundParams,
)
from models.settings import get_settings
from models.tables import Finding, Inspection, InspectionRound, Unit
from models.transitions import InspectionState
from tasks.lifecycle import approvals, stages
from tasks.lifecycle.rounds import create_round, settle_plan, teams_markdown
from tasks.ops.launch import UNIT_DEPLOYMENT, run_name, start_look_back, start_once


def _retry_unless_domain_error(task: Any, task_run: Any, state: Any) -> bool:
    """Bad input will not get better by retrying; infrastructure hiccups may."""
    try:
        state.result()
    except DomainError:
        return False
    except Exception:
        return True
    return True


STAGE: dict[str, Any] = dict(retries=3, retry_delay_seconds=[2, 5, 15], retry_jitter_factor=0.2,
             retry_condition_fn=_retry_unless_domain_error, persist_result=True)
READ: dict[str, Any] = dict(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 3, 10], persist_result=True)


def _link() -> str:
    return get_settings().run_link(flow_run.get_id())


def _ctx() -> dict[str, Any]:
    return {"settings": get_settings(), "now": now(), "link": _link()}


@task(name="创建巡察轮次", **STAGE)
def create_round_task(params: RoundParams) -> tuple[int, list[int]]:
    with session_scope() as s:
        rnd = create_round(session=s, params=params, now=now(), flow_run_id=flow_run.get_id(),
                           former_years=get_settings().recusal_former_years)
        ids = [i for i in s.exec(select(Inspection.id).where(Inspection.round_id == rnd.id)) if i is not None]
        assert rnd.id is not None
        return rnd.id, sorted(ids)


@task(name="读取巡察组", **READ)
def teams_markdown_task(round_id: int) -> str:
    with session_scope() as s:
        return teams_markdown(session=s, round_id=round_id)


@task(name="巡察准备", **STAGE)
def preparation_task(inspection_id: int) -> int:
    with session_scope() as s:
        doc = stages.prepare(session=s, inspection_id=inspection_id, **_ctx())
        assert doc.id is not None
        return doc.id


@task(name="方案审批结果", **STAGE)
def settle_plan_task(round_id: int, approved: bool) -> str:
    with session_scope() as s:
        return settle_plan(session=s, round_id=round_id, approved=approved, now=now()).value


@task(name="集中巡察", **STAGE)
def stationing_task(inspection_id: int) -> str:
    with session_scope() as s:
        return stages.start_stationing(session=s, inspection_id=inspection_id, **_ctx()).value


@task(name="报告巡察", **STAGE)
def reporting_task(inspection_id: int, search_count: int, by: str, summary: str) -> str:
    with session_scope() as s:
        return stages.conclude_stationing(session=s, inspection_id=inspection_id, search_count=search_count,
                                          by=by, summary=summary, **_ctx()).value


@task(name="报告审议结果", **STAGE)
def review_task(inspection_id: int, search_count: int, approved: bool, comment: str) -> str:
    with session_scope() as s:
        return stages.review_report(session=s, inspection_id=inspection_id, search_count=search_count,
                                    approved=approved, comment=comment, **_ctx()).value


@task(name="巡察反馈", **STAGE)
def feedback_task(inspection_id: int) -> str:
    with session_scope() as s:
        return stages.issue_feedback(session=s, inspection_id=inspection_id, **_ctx()).value


@task(name="线索移交", **STAGE)
def clue_transfer_task(inspection_id: int, approved: bool) -> str:
    with session_scope() as s:
        return stages.transfer_clues(session=s, inspection_id=inspection_id, approved=approved, **_ctx()).value


@task(name="督促整改", **STAGE)
def rectification_task(inspection_id: int) -> int:
    with session_scope() as s:
        return stages.start_rectification(session=s, inspection_id=inspection_id, **_ctx())


@task(name="整改销号", **STAGE)
def close_out_task(inspection_id: int, attempt: int, approved: bool, comment: str) -> str:
    with session_scope() as s:
        return stages.close_out(session=s, inspection_id=inspection_id, attempt=attempt, approved=approved,
                                comment=comment, **_ctx()).value


@task(name="立卷归档", **STAGE)
def archiving_task(inspection_id: int) -> str:
    with session_scope() as s:
        return stages.archive(session=s, inspection_id=inspection_id, **_ctx())


@task(name="读取巡察状态", **READ)
def read_inspection(inspection_id: int) -> InspectionState:
    with session_scope() as s:
        insp = s.get(Inspection, inspection_id)
        if insp is None:
            raise DomainError(f"巡察任务不存在：{inspection_id}")
        unit = s.get(Unit, insp.unit_id)
        rnd = s.get(InspectionRound, insp.round_id)
        assert unit and rnd
        return InspectionState(
            round_id=insp.round_id, stage=Stage(insp.stage), search_count=insp.search_count,
            label=f"{rnd.name}·{unit.name}", pending_clues=stages.pending_clue_count(session=s, inspection_id=inspection_id),
            findings=len(stages.Ctx(s, get_settings(), inspection_id).findings()),
            open_items=len(stages.open_items(session=s, inspection_id=inspection_id)),
            plan_submitted=insp.plan_submitted_at is not None, plan_approved=insp.plan_approved_at is not None,
        )


@task(name="发起审批", **READ)
def open_gate_task(round_id: int | None, inspection_id: int | None, gate: Gate, attempt: int,
                   term_id: int | None = None) -> dict[str, Any]:
    with session_scope() as s:
        a = approvals.open_gate(session=s, settings=get_settings(), round_id=round_id, inspection_id=inspection_id,
                                gate=gate, attempt=attempt, flow_run_id=flow_run.get_id(), now=now(), term_id=term_id)
        return {"id": a.id, "status": a.status, "decision": a.decision, "approver": a.approver, "comment": a.comment}


@task(name="记录审批", **STAGE)
def record_decision_task(approval_id: int, decision: str, approver: str, comment: str, via: str = "") -> None:
    with session_scope() as s:
        approvals.record_decision(session=s, approval_id=approval_id, decision=decision, approver=approver,
                                  comment=comment, now=now(), via=via)


@task(name="核验审批人", **STAGE)  # cached per (approval, try): a re-run does not count a wrong code twice
def check_approver_task(approval_id: int, try_no: int, approver: str, code: str, logged_in: bool = False) -> str:
    """Empty when `approver` may answer this gate and (unless the gateway's receipt proved the
    person) `code` is its live one-time code."""
    with session_scope() as s:
        return approvals.check_approver(session=s, settings=get_settings(), approval_id=approval_id,
                                        approver=approver, code=code, now=now(), logged_in=logged_in)


@task(name="核对审批凭据", **READ)
def gate_receipt_task(approval_id: int, pause_key: str) -> tuple[str, str]:
    """The person the gateway's receipt names for this asking (empty without one) and why a
    receipt that is there is not accepted."""
    from tasks.identity.receipts import check_receipt

    with session_scope() as s:
        found = check_receipt(session=s, settings=get_settings(), approval_id=approval_id,
                              flow_run_id=str(flow_run.get_id()), pause_key=pause_key)
    return found.person, found.problem


@task(name="记录无效审批", **STAGE)
def reject_answer_task(approval_id: int, try_no: int, approver: str, reason: str) -> None:
    with session_scope() as s:
        label = approvals.refuse_answer(session=s, settings=get_settings(), approval_id=approval_id, try_no=try_no,
                                        approver=approver, reason=reason, now=now())
    get_run_logger().warning("%s：提交未被接受（%s），已通知审批人，流程继续等待", label, reason)


@task(name="更新本轮各单位", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 5])
def publish_round_units_task(round_id: int) -> None:
    """A new version of the round run's table of its units (stage, waiting gate, link); written
    on the round's own run, whichever unit run moved, so the round's page always points to them."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import ArtifactCreate

    from tasks.lifecycle.rounds import units_table

    with session_scope() as s:
        rnd = s.get(InspectionRound, round_id)
        if rnd is None or not rnd.flow_run_id:
            return
        table = units_table(session=s, settings=get_settings(), round_id=round_id)
        name, run_id = rnd.name, rnd.flow_run_id
    import json

    with get_client(sync_client=True) as client:
        client.create_artifact(ArtifactCreate(
            key=f"round-{round_id}-units", type="table", data=json.dumps(table, ensure_ascii=False),
            description=f"{name}：各被巡察单位的阶段、等待的审批和流程链接", flow_run_id=UUID(run_id)))


@task(name="启动单位巡察", **STAGE)
def start_unit_task(inspection_id: int) -> str:
    """Start the unit's own flow run once; the idempotency key makes a repeat return the same run."""
    with session_scope() as s:
        insp = s.get(Inspection, inspection_id)
        assert insp is not None
        rnd, unit = s.get(InspectionRound, insp.round_id), s.get(Unit, insp.unit_id)
        assert rnd and unit
        name = run_name("单位巡察", rnd.name, unit.name)
    run_id = start_once(UNIT_DEPLOYMENT, {"inspection_id": inspection_id}, f"inspection-{inspection_id}", name)
    with session_scope() as s:
        insp = s.get(Inspection, inspection_id)
        assert insp is not None
        insp.flow_run_id = run_id
        s.add(insp)
    return run_id


# Rectification supervision and look-back --------------------------------------------------

@task(name="督办扫描", **STAGE)
def sweep_task(as_of: date, rate_below: float | None, overdue_days: int | None) -> dict[str, Any]:
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
    return {"notices": result.notices, "by_rung": result.by_rung, "alerts": result.alerts, "pace_warnings": result.pace_warnings,
            "missing_reports": result.missing_reports, "plan_notices": sum(result.plan_notices.values()),
            "missing_plans": result.missing_plans, "look_backs": result.look_backs, "progress": progress,
            "clue_ledger": ledger, "clue_reminders": result.clue_reminders, "common_reminders": result.common_reminders,
            "held_until": str(result.held_until or ""), "calendar_warnings": result.calendar_warnings}


@task(name="启动回头看", **STAGE)
def start_look_back_task(look_back_id: int) -> str:
    """Start the look-back's flow run once (the relay starts any the sweep did not)."""
    return start_look_back(look_back_id)


@task(name="回头看一览", **READ)
def look_backs_table_task() -> list[dict[str, str]]:
    """Every look-back with unit, reason, state and run link (names only: nothing confidential)."""
    from tasks.supervision.look_back import list_look_backs

    with session_scope() as s:
        return [{"编号": str(r.id), "轮次": r.round, "单位": r.unit, "原因": r.cause, "状态": r.status,
                 "登记日期": str(r.triggered_on), "流程": r.link or "（尚未启动）"}
                for r in list_look_backs(session=s, settings=get_settings())]


@task(name="组建回头看组", **STAGE)
def compose_look_back_team_task(look_back_id: int) -> dict[str, Any]:
    from models.tables import LookBack
    from tasks.supervision.look_back import compose_team, items_to_verify

    with session_scope() as s:
        team = compose_team(session=s, look_back_id=look_back_id)
        lb = s.get(LookBack, look_back_id)
        assert lb is not None
        insp = s.get(Inspection, lb.source_inspection_id)
        assert insp is not None
        items = [{"id": i.id, "desc": getattr(s.get(Finding, i.finding_id), "description", ""),
                  "status": i.status, "deadline": str(i.deadline)} for i in items_to_verify(session=s, look_back_id=look_back_id)]
        unit = s.get(Unit, lb.unit_id)
        return {"team": team, "items": items, "round_id": insp.round_id, "inspection_id": insp.id,
                "unit": unit.name if unit else "", "cause": lb.detail, "status": lb.status}


@task(name="校验回头看核查", **READ)
def look_back_problems_task(look_back_id: int, checks: list[ItemCheckIn]) -> list[str]:
    from tasks.supervision.look_back import check_problems

    with session_scope() as s:
        return check_problems(session=s, look_back_id=look_back_id, checks=checks)


@task(name="记录回头看结果", **STAGE)
def record_look_back_task(look_back_id: int, checks: list[ItemCheckIn], new_findings: list[FindingIn], by: str) -> dict[str, int]:
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


@task(name="签收线索移交函", **STAGE)
def acknowledge_letter_task(params: AckParams) -> int:
    from tasks.clues.ledger import acknowledge

    with session_scope() as s:
        letter = acknowledge(session=s, settings=get_settings(), by=params.signer, letter_id=params.letter_id,
                             code=params.code, now=now())
        return letter.clue_count


@task(name="报送整改方案", **STAGE)
def submit_plan_task(params: PlanParams) -> int:
    from tasks.lifecycle.findings import find_inspection
    from tasks.supervision.rectification import submit_plan

    with session_scope() as s:
        insp = find_inspection(session=s, round_name=params.round_name, unit_name=params.unit_name)
        return submit_plan(session=s, settings=get_settings(), inspection=insp, items=params.items, by=params.reporter,
                           now=now(), link=_link())


@task(name="唤醒单位巡察（整改方案）", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 5])
def wake_for_plan_task(round_name: str, unit_name: str) -> bool:
    """Wake the unit run waiting for this plan. Never fails the submission (the plan is saved):
    a wake-up that does not happen here is done by the relay's next pass."""
    from tasks.lifecycle.findings import find_inspection
    from tasks.ops.launch import wake_for_plan

    with session_scope() as s:
        insp = find_inspection(session=s, round_name=round_name, unit_name=unit_name)
        iid, run_id = insp.id, insp.flow_run_id
    assert iid is not None
    if not run_id:
        return False
    try:
        return wake_for_plan(iid, run_id)
    except Exception as exc:  # noqa: BLE001 - the relay retries; the plan is already recorded
        get_run_logger().warning("未能唤醒单位巡察流程（%s），投递进程将稍后唤醒", type(exc).__name__)
        return False


@task(name="读取整改方案", **READ)
def plan_step_task(inspection_id: int) -> dict[str, Any]:
    from dataclasses import asdict

    from tasks.supervision.rectification import plan_step

    with session_scope() as s:
        return asdict(plan_step(session=s, settings=get_settings(), inspection_id=inspection_id))


@task(name="整改方案审核结果", **STAGE)
def review_plan_task(inspection_id: int, attempt: int, approved: bool, comment: str) -> bool:
    from tasks.supervision.rectification import review_plan

    with session_scope() as s:
        return review_plan(session=s, settings=get_settings(), inspection_id=inspection_id, approved=approved,
                           attempt=attempt, comment=comment, now=now(), link=_link())


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
def propose_common_task(round_name: str, attempt: int | None = None) -> dict[str, Any]:
    """The grouping this run works on and its proposals (ids, titles and unit names only)."""
    from models.enums import GroupingStatus
    from tasks.supervision.common_problems import (
        grouping_for_run,
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
        info: dict[str, Any] = {"round_id": rnd.id, "attempt": 0, "busy": "", "waiting": "", "proposals": [], "notes": []}
        if g is None:
            return info | {"waiting": waiting_reason(session=s, round_id=rnd.id)}
        assert g.id is not None
        info["attempt"] = g.attempt
        if g.status == GroupingStatus.CONFIRMED:
            return info
        if g.flow_run_id and g.flow_run_id != me:
            if not _run_over(g.flow_run_id):
                return info | {"busy": get_settings().run_link(g.flow_run_id)}
            g.flow_run_id = me  # its run ended without a confirmation (cancelled, failed): this one takes over
            s.add(g)
        proposals = propose_groups(session=s, round_id=rnd.id, finding_ids=g.finding_ids)
        if not proposals:
            settle_empty(session=s, grouping_id=g.id, now=now())
        return info | {"proposals": [p.to_input().model_dump() for p in proposals],
                       "notes": [proposal_line(p) for p in proposals]}


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


@task(name="校验共性问题", **READ)
def common_problems_check_task(round_id: int, attempt: int | None, groups: list[CommonGroupIn], by: str) -> str:
    """A dry run of the confirmation, rolled back: the problems, or empty when it would succeed."""
    from sqlmodel import Session

    from models.db import get_engine

    with Session(get_engine()) as s:
        try:
            _confirm(s, round_id, attempt, groups, by)
        except DomainError as exc:
            return "；".join(exc.problems)
        finally:
            s.rollback()
    return ""


@task(name="确认共性问题", **STAGE)
def confirm_common_task(round_id: int, attempt: int | None, groups: list[CommonGroupIn], by: str) -> int:
    with session_scope() as s:
        return len(_confirm(s, round_id, attempt, groups, by))


@task(name="校验整改销号", **READ)
def close_out_check_task(inspection_id: int, approved: bool) -> str:
    """Why this close-out answer may not be taken (common findings not yet led), or empty."""
    from tasks.supervision.common_problems import close_out_refusal

    with session_scope() as s:
        return close_out_refusal(session=s, inspection_id=inspection_id, approved=approved)
