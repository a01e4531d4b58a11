"""Starting independent flow runs of this project's deployments, once per cause, and waking a
run that waits for something people do outside it (a unit run waiting for its plan).

Used by the flows (a round starts its units, a sweep its look-backs, a unit past 报告审议 its
round's common-problem grouping, a submitted plan wakes its unit) and by the relay, which starts
whatever was registered to start later and has not been, and wakes whatever should have been
woken and was not (deployments/ops/relay.py)."""

from __future__ import annotations

from typing import Any

UNIT_DEPLOYMENT = "单位巡察/单位巡察"
LOOK_BACK_DEPLOYMENT = "回头看/回头看"
COMMON_DEPLOYMENT = "共性问题归类/共性问题归类"
PLAN_WAIT = "awaiting-plan"  # pause keys of a unit run waiting for its plan: awaiting-plan-<inspection>-<attempt>-<n>
# ... and for items to close out (reported 已完成待核): awaiting-closeout-<inspection>-<attempt>-<n>
CLOSE_WAIT = "awaiting-closeout"
ROUND_WAIT = "round-units"  # the round run while its units work: round-units-<round>-<n>


def start_once(deployment: str, parameters: dict[str, Any], key: str, name: str | None = None) -> str:
    """Start an independent flow run of `deployment`; the same key returns the same run."""
    return started(deployment, parameters=parameters, timeout=0, as_subflow=False, idempotency_key=key,
                   flow_run_name=name)


def started(deployment: str, **options: Any) -> str:
    """The id of a flow run of `deployment` started from synchronous code (options as for run_deployment)."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    # Prefect types run_deployment for async callers too (a FlowRun or its coroutine); called from sync code it returns the FlowRun.
    run: FlowRun = run_deployment(deployment, **options)  # type: ignore[assignment]  # forced by Prefect's sync/async typing
    return str(run.id)


def start_look_back(look_back_id: int) -> str:
    """Start a registered look-back's run once: the row is unique per unit, the key per row."""
    from models.db import session_scope
    from tasks.supervision import look_back
    with session_scope() as s:
        name = look_back.run_label(session=s, look_back_id=look_back_id)
    run_id = start_once(LOOK_BACK_DEPLOYMENT, {"look_back_id": look_back_id}, f"look-back-{look_back_id}", name)
    with session_scope() as s:
        look_back.mark_started(session=s, look_back_id=look_back_id, flow_run_id=run_id)
    return run_id


def start_common_grouping(grouping_id: int) -> str:
    """Start a registered grouping's run (共性问题归类) once: the row is unique per round and
    attempt, the key per row, so the unit flow and the relay starting it together get one run."""
    from models.db import session_scope
    from tasks.supervision import common_problems
    with session_scope() as s:
        round_name, attempt, name = common_problems.grouping_run(session=s, grouping_id=grouping_id)
    run_id = start_once(COMMON_DEPLOYMENT, {"round_name": round_name, "attempt": attempt},
                        f"common-grouping-{grouping_id}", name)
    with session_scope() as s:
        common_problems.mark_started(session=s, grouping_id=grouping_id, flow_run_id=run_id)
    return run_id


def plan_wait_key(inspection_id: int, attempt: int) -> str:
    """The pause key prefix of a unit run waiting for the plan of its `attempt`-th review."""
    return f"{PLAN_WAIT}-{inspection_id}-{attempt}"


def close_wait_key(inspection_id: int, attempt: int) -> str:
    """The pause key prefix of a unit run waiting for items to close out before its `attempt`-th 整改销号."""
    return f"{CLOSE_WAIT}-{inspection_id}-{attempt}"


def wake(flow_run_id: str, key_prefix: str, client: Any = None) -> bool:
    """Resume the run if it is suspended under a pause key starting with `key_prefix`, and only
    then: a run waiting at a gate, running or finished is left alone. False when nothing was
    woken (not waiting there, gone, or it moved on meanwhile); the cause is in the database, so
    the relay's next pass tries again. The waiting form has no fields: empty input resumes it."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.exceptions import ObjectNotFound

    if client is None:
        with get_client(sync_client=True) as own:
            return wake(flow_run_id, key_prefix, own)
    try:
        run = client.read_flow_run(UUID(flow_run_id))
    except ObjectNotFound:
        return False
    state = run.state
    if state is None or not state.is_paused() or not str(state.state_details.pause_key or "").startswith(key_prefix):
        return False
    return bool(client.resume_flow_run(run.id, run_input={}).status == SetStateStatus.ACCEPT)


def wake_for_plan(inspection_id: int, flow_run_id: str, client: Any = None) -> bool:
    """Wake the unit run if it waits for this unit's plan (any attempt)."""
    return wake(flow_run_id, f"{PLAN_WAIT}-{inspection_id}-", client)


def wake_for_close_out(inspection_id: int, flow_run_id: str, client: Any = None) -> bool:
    """Wake the unit run if it waits for items of this unit to close out (any attempt)."""
    return wake(flow_run_id, f"{CLOSE_WAIT}-{inspection_id}-", client)


def wake_unit(inspection_id: int, flow_run_id: str, client: Any = None) -> bool:
    """Wake the unit run if it waits for something this unit does: its plan, or items to close out."""
    return wake_for_plan(inspection_id, flow_run_id, client) or wake_for_close_out(inspection_id, flow_run_id, client)


def wake_round(round_id: int, flow_run_id: str, client: Any = None) -> bool:
    """Wake the round run waiting for its units (it ends once they are all archived)."""
    return wake(flow_run_id, f"{ROUND_WAIT}-{round_id}-", client)
