"""Drive flow runs through the Prefect API as office staff would through the UI."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.flow_runs import resume_flow_run


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


def answer(run_id: UUID | str, **run_input: Any) -> None:
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
