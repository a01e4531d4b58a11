"""Drive flow runs through the Prefect API as office staff would through the UI."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.flow_runs import resume_flow_run
from sqlmodel import col, select

from models.access import GATE_ROLES, Scope
from models.db import session_scope
from models.enums import AccessRole, ApprovalStatus, Gate, TeamRole
from models.tables import Approval, Inspection, Person, TeamMember
from tests.support.accounts import E2E_PASSWORD, Login, ready_account, totp_code  # noqa: F401 - the e2e tests import them here
from tests.support.factories import sent_code
from tests.support.gateway import login_post, totp_post


def read(run_id: UUID | str) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(str(run_id)))


def wait_for(run_id: UUID | str, *, paused: bool = False, final: bool = False, timeout: float = 180) -> FlowRun:
    """Wait until the run is paused (waiting at a gate) or final; fail loudly on a crash."""
    deadline = time.monotonic() + timeout
    fr = read(run_id)
    while time.monotonic() < deadline:
        fr = read(run_id)
        state = fr.state
        if state is not None:
            if paused and state.is_paused():
                return fr
            if state.is_final():
                if paused:
                    raise AssertionError(f"flow run {run_id} ended {state.name} instead of waiting: {state.message}")
                return fr
        time.sleep(0.5)
    raise TimeoutError(f"flow run {run_id} still {fr.state.name if fr.state else None} after {timeout}s")


# Accounts of the demo county (deployments/demo/county.yaml) who answer each kind of gate.
APPROVER_BY_ROLE = {AccessRole.LEADING_GROUP: "张明", AccessRole.TEAM_LEADER: "李建国", AccessRole.OFFICE: "陶文华"}


@dataclass(frozen=True)
class WaitingGate:
    id: int
    gate: Gate
    inspection_id: int | None = None


def waiting_approval(run_id: UUID | str) -> WaitingGate:
    """The gate this run is waiting at, as the application recorded it."""
    with session_scope() as s:
        approval = s.exec(select(Approval).where(Approval.flow_run_id == str(run_id),
                                                 Approval.status == ApprovalStatus.PENDING)
                          .order_by(col(Approval.id).desc())).first()
        assert approval is not None and approval.id is not None, f"flow run {run_id} has no gate waiting"
        return WaitingGate(approval.id, Gate(approval.gate), approval.inspection_id)


def live_code(approval_id: int) -> str:
    """The newest one-time code sent for this gate, as the approver received it."""
    with session_scope() as s:
        return sent_code(s, f"gate:{approval_id}:", "验证码")


def wait_for_gate(run_id: UUID | str, timeout: float = 420) -> set[str]:
    """Wait until the run waits at a gate, letting it crash on the way: a crashed run is started
    again by the relay (deployments/ops/relay.py). Returns the state types seen."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read(run_id).state
        assert state is not None
        seen.add(state.type.value)
        if state.is_paused():
            # States a poll can miss (the relay marks a dead run Crashed and schedules it again
            # in one pass) are in the run's history.
            with get_client(sync_client=True) as client:
                seen |= {st.type.value for st in client.read_flow_run_states(UUID(str(run_id)))}
            return seen
        assert not (state.is_completed() or state.is_failed() or state.is_cancelled()), state
        time.sleep(1)
    raise TimeoutError(f"flow run {run_id} not waiting at a gate after {timeout}s (seen {sorted(seen)})")


def approver_for(approval: Approval | WaitingGate) -> str:
    """Someone of the gate's role; for a unit's stationing gate, the 组长 of the team inspecting it
    (a team role reaches only its own team's units)."""
    gate = Gate(approval.gate)
    role = min(GATE_ROLES[gate])
    if GATE_ROLES[gate][role] is Scope.OWN_TEAM and approval.inspection_id:
        with session_scope() as s:
            insp = s.get(Inspection, approval.inspection_id)
            assert insp is not None
            return s.exec(select(Person.name).join(TeamMember, col(TeamMember.person_id) == Person.id).where(
                TeamMember.team_id == insp.team_id, TeamMember.role == TeamRole.LEADER)).one()
    return APPROVER_BY_ROLE[role]


def answer(run_id: UUID | str, **run_input: Any) -> None:
    """Resume the run with this form input; the approver (by the gate's role) and the one-time
    code sent to them are filled in unless given."""
    if "code" not in run_input or "approver" not in run_input:
        approval = waiting_approval(run_id)
        run_input.setdefault("approver", approver_for(approval))
        run_input.setdefault("code", live_code(approval.id))
    # The run turns Paused a moment before it stores its form's schema; retry briefly.
    # Under load (SQLite "database is locked" on the server) this can take a while.
    for attempt in range(240):
        try:
            resume_flow_run(UUID(str(run_id)), run_input=run_input)
            return
        except RuntimeError as exc:
            if "schema not found" not in str(exc) or attempt == 239:
                raise
            time.sleep(0.25)


def pause_key(run_id: UUID | str) -> str:
    fr = read(run_id)
    assert fr.state is not None and fr.state.state_details is not None
    return str(fr.state.state_details.pause_key)


def wait_for_key(run_id: UUID | str, key: str, timeout: float = 120) -> None:
    """Wait until the run waits under this pause key (after a refused answer it asks again
    under the next one)."""
    wait_for(run_id, paused=True)
    deadline = time.monotonic() + timeout
    while pause_key(run_id) != key and time.monotonic() < deadline:
        time.sleep(0.5)
    assert pause_key(run_id) == key


def units_working(run_id: UUID | str, timeout: float = 180) -> FlowRun:
    """Past the plan a round run starts its units and waits for them, suspended under
    round-units-<round>-0 (it ends when the last unit is archived); fail loudly otherwise."""
    from models.tables import InspectionRound

    with session_scope() as s:
        rid = s.exec(select(InspectionRound.id).where(InspectionRound.flow_run_id == str(run_id))).one()
    key, deadline = f"round-units-{rid}-0", time.monotonic() + timeout
    while time.monotonic() < deadline:
        fr = read(run_id)
        assert fr.state is not None and not fr.state.is_final(), f"round run {run_id} ended: {fr.state}"
        if fr.state.is_paused() and fr.state.state_details.pause_key == key:
            return fr
        time.sleep(0.5)
    raise TimeoutError(f"round run {run_id} not waiting for its units after {timeout}s: {read(run_id).state}")


def retire_round(round_name: str) -> None:
    """A test's round left at a gate is marked finished, so the session's later tests may use its
    units and people (the rule against double booking counts only rounds awaiting approval or
    under way). A test-only shortcut: the product has no command to close a round early."""
    from models.enums import RoundStatus
    from models.tables import InspectionRound

    with session_scope() as s:
        rnd = s.exec(select(InspectionRound).where(InspectionRound.name == round_name)).one()
        rnd.status = RoundStatus.DONE
        s.add(rnd)


def latest_table(key: str) -> list[dict[str, str]]:
    """The rows of the newest version of a table artifact."""
    import json

    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        latest = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                       sort=ArtifactSort.CREATED_DESC, limit=1)
    assert latest, f"no table artifact {key}"
    data = latest[0].data
    return list(json.loads(data) if isinstance(data, str) else data)  # type: ignore[arg-type]


# Logins at the gateway ----------------------------------------------------------------------

def http_login(ui_url: str, login: Login) -> Any:
    """An HTTP client logged in at the gateway, as a browser would be (cookies kept)."""
    import httpx

    client = httpx.Client(base_url=ui_url, follow_redirects=False, timeout=60)
    r = login_post(client, login.name, login.password)
    assert r.status_code == 303, r.text
    if r.headers["location"] == "/login/totp":
        r = totp_post(client, totp_code(login.name, login.secret))
        assert r.status_code == 303, r.text
    assert client.get("/gateway/me").status_code == 200
    return client
