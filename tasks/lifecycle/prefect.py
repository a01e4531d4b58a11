"""Thin Prefect tasks over the domain functions. They take and return record IDs only, so
nothing confidential reaches Prefect's parameters, results or logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from sqlmodel import col, select

from models.clock import now
from models.db import session_scope
from models.enums import ApprovalStatus, Gate
from models.errors import DomainError
from models.forms import RoundParams
from models.handoffs import GateAsked
from models.settings import get_settings
from models.tables import Inspection, InspectionRound, Unit
from models.transitions import InspectionState
from tasks.lifecycle import approvals, gate_summary, stages
from tasks.lifecycle.answers import (
    AnswerCheck,
    AnswerFields,
    CheckOn,
    GateRef,
    Settled,
    settle_answer,
)
from tasks.lifecycle.rounds import create_round, settle_plan, teams_markdown
from tasks.ops.forms import refresh_quietly
from tasks.ops.launch import UNIT_DEPLOYMENT, start_once
from tasks.ops.run_names import run_name


def retry_unless_domain_error(task: Any, task_run: Any, state: Any) -> bool:
    """Bad input will not get better by retrying; infrastructure hiccups may."""
    try:
        state.result()
    except DomainError:
        return False
    except Exception:
        return True
    return True


# A stage task returns the inspection's state read after its work, in its transaction, so the flow
# does not read it again. The result is cached per flow run and inputs (Prefect's default policy):
# a run resumed from the top that calls a stage task again with the same inputs (a decided gate's
# attempt replayed, flows/lifecycle/inspect_unit.py) gets the state of that moment, which replays
# the pass as it went; the next wait or gate reads the database afresh.
STAGE: dict[str, Any] = dict(retries=3, retry_delay_seconds=[2, 5, 15], retry_jitter_factor=0.2,
             retry_condition_fn=retry_unless_domain_error, persist_result=True)
READ: dict[str, Any] = dict(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[1, 3, 10], persist_result=True)


def run_link() -> str:
    """The link to the flow run this task runs in (for alerts)."""
    return get_settings().run_link(flow_run.get_id())


def _ctx() -> dict[str, Any]:
    return {"settings": get_settings(), "now": now(), "link": run_link()}


@task(name="创建巡察轮次", **STAGE)
def create_round_task(params: RoundParams) -> tuple[int, list[int]]:
    with session_scope() as s:
        rnd = create_round(session=s, params=params, now=now(), flow_run_id=flow_run.get_id(),
                           former_years=get_settings().recusal_former_years)
        ids = [i for i in s.exec(select(Inspection.id).where(Inspection.round_id == rnd.id)) if i is not None]
        assert rnd.id is not None
        return rnd.id, sorted(ids)


@task(name="更新表单选择列表", cache_policy=NO_CACHE)
def refresh_forms_task() -> str:
    """The new round in the lists of 登记问题 and the others (never fails the round)."""
    with session_scope() as s:
        return refresh_quietly(session=s)


@task(name="读取巡察组", **READ)
def teams_markdown_task(round_id: int) -> str:
    with session_scope(read_only=True) as s:
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


def stage_then_state(inspection_id: int, work: Callable[..., object], **kw: Any) -> InspectionState:
    """A stage task's body: the stage's work and the state it leaves, in one transaction (STAGE)."""
    with session_scope() as s:
        work(session=s, inspection_id=inspection_id, **kw)
        return stages.inspection_state(session=s, settings=get_settings(), inspection_id=inspection_id)


@task(name="集中巡察", **STAGE)
def stationing_task(inspection_id: int) -> InspectionState:
    return stage_then_state(inspection_id, stages.start_stationing, **_ctx())


@task(name="报告巡察", **STAGE)
def reporting_task(inspection_id: int, search_count: int, by: str, summary: str) -> InspectionState:
    return stage_then_state(inspection_id, stages.conclude_stationing, search_count=search_count, by=by, summary=summary,
                            **_ctx())


@task(name="报告审议结果", **STAGE)
def review_task(inspection_id: int, search_count: int, approved: bool, comment: str) -> InspectionState:
    return stage_then_state(inspection_id, stages.review_report, search_count=search_count, approved=approved,
                            comment=comment, **_ctx())


@task(name="巡察反馈", **STAGE)
def feedback_task(inspection_id: int) -> InspectionState:
    return stage_then_state(inspection_id, stages.issue_feedback, **_ctx())


@task(name="线索移交", **STAGE)
def clue_transfer_task(inspection_id: int, approved: bool) -> InspectionState:
    return stage_then_state(inspection_id, stages.transfer_clues, approved=approved, **_ctx())


@task(name="督促整改", **STAGE)
def rectification_task(inspection_id: int) -> InspectionState:
    return stage_then_state(inspection_id, stages.start_rectification, **_ctx())


@task(name="整改销号", **STAGE)
def close_out_task(inspection_id: int, attempt: int, approved: bool, comment: str) -> InspectionState:
    return stage_then_state(inspection_id, stages.close_out, attempt=attempt, approved=approved, comment=comment,
                            **_ctx())


@task(name="立卷归档", **STAGE)
def archiving_task(inspection_id: int) -> InspectionState:
    return stage_then_state(inspection_id, stages.archive, **_ctx())


@task(name="读取巡察状态", **READ)
def read_inspection(inspection_id: int) -> InspectionState:
    with session_scope(read_only=True) as s:
        return stages.inspection_state(session=s, settings=get_settings(), inspection_id=inspection_id)


@task(name="读取审批事项", **READ)
def gate_text_task(gate: Gate, round_id: int | None, inspection_id: int | None) -> str:
    """What the gate's form says the decision is about, read now (tasks/lifecycle/gate_summary.py)."""
    with session_scope(read_only=True) as s:
        return gate_summary.gate_text(session=s, settings=get_settings(), gate=gate, round_id=round_id,
                                      inspection_id=inspection_id)


def gate_key_prefix(gate: Gate) -> str:
    """How a gate's pause keys begin (flows/lifecycle/gates.py await_gate)."""
    return gate.name.lower().replace("_", "-") + "-"


def refresh_gate_texts(client: Any, inspection_id: int | None = None) -> int:
    """Rewrite the stored description of each waiting gate (of one inspection, or all) whose
    figures changed since it was asked: a finding registered while the stationing gate waits, a
    progress report while the close-out waits. The refusal said above it is kept. Returns how
    many were rewritten. Called after registering findings and by the relay's housekeeping."""
    import orjson
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    from models.tables import Approval

    with session_scope() as s:
        q = select(Approval).where(Approval.status == ApprovalStatus.PENDING, col(Approval.flow_run_id).is_not(None))
        if inspection_id is not None:
            q = q.where(Approval.inspection_id == inspection_id)
        texts = [(str(a.flow_run_id), Gate(a.gate), gate_summary.gate_text(
            session=s, settings=get_settings(), gate=Gate(a.gate), round_id=a.round_id, inspection_id=a.inspection_id))
            for a in s.exec(q)]
    from uuid import UUID

    rewritten = 0
    for run_id, gate, text in texts:
        if not text:
            continue
        try:
            state = client.read_flow_run(UUID(run_id)).state
            keyset = state.state_details.run_input_keyset if state is not None and state.is_paused() else None
            if not keyset or not str(state.state_details.pause_key or "").startswith(gate_key_prefix(gate)):
                continue
            old = orjson.loads(client.read_flow_run_input(flow_run_id=UUID(run_id), key=keyset["description"]))
        except (ObjectNotFound, PrefectHTTPStatusError):
            continue
        head = old.partition("## ")[0] if isinstance(old, str) else ""
        if head + text == old:
            continue
        client.delete_flow_run_input(flow_run_id=UUID(run_id), key=keyset["description"])
        client.create_flow_run_input(flow_run_id=UUID(run_id), key=keyset["description"],
                                     value=orjson.dumps(head + text).decode())
        rewritten += 1
    return rewritten


@task(name="更新审批说明", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 5])
def refresh_gate_texts_task(inspection_id: int) -> int:
    """After findings are registered: the waiting gate's form shows them (never fails the caller)."""
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            return refresh_gate_texts(client, inspection_id)
    except Exception as exc:  # noqa: BLE001 - the relay's housekeeping does it again
        get_run_logger().warning("未能更新等待中审批的说明（%s），投递进程将稍后更新", type(exc).__name__)
        return 0


@task(name="发起审批", **READ)
def open_gate_task(round_id: int | None, inspection_id: int | None, gate: Gate, attempt: int,
                   term_id: int | None = None, with_text: bool = False) -> GateAsked:
    """Open the gate (asking twice changes nothing) and, `with_text`, read what its form says, in
    one transaction. A gate opened now shows in its round's table of units at once."""
    with session_scope() as s:
        opened = approvals.asked_gate(session=s, round_id=round_id, inspection_id=inspection_id, gate=gate,
                                      attempt=attempt, term_id=term_id) is None
        a = approvals.open_gate(session=s, settings=get_settings(), round_id=round_id, inspection_id=inspection_id,
                                gate=gate, attempt=attempt, flow_run_id=flow_run.get_id(), now=now(), term_id=term_id)
        text = gate_summary.gate_text(session=s, settings=get_settings(), gate=gate, round_id=round_id,
                                      inspection_id=inspection_id) if with_text else ""
        assert a.id is not None
        asked = GateAsked(id=a.id, status=ApprovalStatus(a.status), decision=a.decision, approver=a.approver,
                          comment=a.comment, text=text)
    if opened and round_id is not None:
        publish_round_units_quietly(round_id)
    return asked


@task(name="办理审批", **STAGE)  # cached per (approval, asking, try): a re-run does not count a wrong code twice
def settle_answer_task(ref: GateRef, pause_key: str, try_no: int, answer: AnswerFields,
                       check: AnswerCheck = AnswerCheck.NONE, on: CheckOn = CheckOn()) -> Settled:
    """One answer in one transaction: receipt or code, approver, the gate's own check, then the
    decision or the refusal, each with its audit row (tasks/lifecycle/answers.py). The approval
    is found here: a run resumed with its answer does not open the gate again first."""
    with session_scope() as s:
        approval = approvals.asked_gate(session=s, round_id=ref.round_id, inspection_id=ref.inspection_id,
                                        gate=ref.gate, attempt=ref.attempt, term_id=ref.term_id)
        if approval is None or approval.id is None:
            raise DomainError(f"审批记录不存在：{ref.gate.value}（第{ref.attempt}次）")
        settled = settle_answer(session=s, settings=get_settings(), approval_id=approval.id,
                                flow_run_id=str(flow_run.get_id()), pause_key=pause_key, try_no=try_no,
                                answer=answer, check=check, now=now(), on=on)
    if settled.error:
        get_run_logger().warning("%s：提交未被接受（%s），已通知审批人，流程继续等待", settled.label, settled.error)
    return settled


def publish_round_units(round_id: int) -> None:
    """The round run's one table of its units (stage, waiting gate, link), kept up to date in
    place whichever unit run moved: one 各被巡察单位 card on the round's page, not a new version
    per move. Created once; two runs creating it at the same moment leave two versions, and
    later updates go to the newest."""
    import json
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import ArtifactCreate, ArtifactUpdate
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from tasks.lifecycle.rounds import units_table

    def read() -> tuple[str, str, str] | None:
        with session_scope(read_only=True) as s:
            rnd = s.get(InspectionRound, round_id)
            if rnd is None or not rnd.flow_run_id:
                return None
            table = units_table(session=s, settings=get_settings(), round_id=round_id)
            return rnd.name, rnd.flow_run_id, json.dumps(table, ensure_ascii=False)

    key, written = f"round-{round_id}-units", ""
    # Units move at the same moment: a table read before another unit's move may reach Prefect
    # after that unit's own update. Read again after writing and write again while it differs, so
    # the last write is never older than the last move (at most three rounds).
    for _ in range(3):
        now_read = read()
        if now_read is None or now_read[2] == written:
            return
        name, run_id, written = now_read
        description = f"{name}：各被巡察单位的阶段、等待的审批和流程链接"
        with get_client(sync_client=True) as client:
            latest = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                           sort=ArtifactSort.CREATED_DESC, limit=1)
            if latest and str(latest[0].flow_run_id) == run_id:
                client.update_artifact(latest[0].id, ArtifactUpdate(data=written, description=description))
            else:
                client.create_artifact(ArtifactCreate(key=key, type="table", data=written, description=description,
                                                      flow_run_id=UUID(run_id)))


@task(name="更新本轮各单位", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 5])
def publish_round_units_task(round_id: int) -> None:
    publish_round_units(round_id)


def publish_round_units_quietly(round_id: int) -> None:
    """The round's table updated inside another task, which it never fails (the next update
    catches up)."""
    try:
        publish_round_units(round_id)
    except Exception as exc:  # noqa: BLE001 - a table of the round, not the unit's work
        get_run_logger().warning("未能更新本轮各单位的表格（%s），下次更新时补上", type(exc).__name__)


def round_done(round_id: int) -> bool:
    """Every unit of the round is archived (the round run's wait is over)."""
    from models.enums import RoundStatus

    with session_scope(read_only=True) as s:
        rnd = s.get(InspectionRound, round_id)
        return rnd is None or rnd.status in (RoundStatus.DONE, RoundStatus.RETURNED)


@task(name="读取轮次状态", **READ)
def round_done_task(round_id: int) -> bool:
    return round_done(round_id)


@task(name="唤醒巡察轮次", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 5])
def wake_round_task(round_id: int) -> bool:
    """Once the round's last unit is archived, its round run (waiting while its units work) ends.
    Never fails the unit run: the relay wakes a round run whose wake-up was lost."""
    from tasks.ops.launch import wake_round

    with session_scope() as s:
        rnd = s.get(InspectionRound, round_id)
        run_id = rnd.flow_run_id if rnd is not None else None
    if not run_id or not round_done(round_id):
        return False
    try:
        return wake_round(round_id, run_id)
    except Exception as exc:  # noqa: BLE001 - the relay retries
        get_run_logger().warning("未能唤醒巡察轮次流程（%s），投递进程将稍后唤醒", type(exc).__name__)
        return False


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
