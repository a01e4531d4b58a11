"""A waiting gate's stored description is rewritten when its figures change (a finding registered
while the stationing gate waits); the refusal said above it is kept; a run waiting elsewhere, or
whose text did not change, is left alone (tasks/lifecycle/prefect.py refresh_gate_texts)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from prefect.states import Running, Suspended
from sqlmodel import Session

from models import tables
from models.enums import Gate
from models.settings import Settings
from tasks.lifecycle.approvals import open_gate
from tasks.lifecycle.findings import record_findings
from tasks.lifecycle.prefect import refresh_gate_texts
from tests.conftest import NOW
from tests.support.factories import in_stationing, sample_findings

RUN = "00000000-0000-0000-0000-0000000000bb"


class FakeServer:
    """The flow run inputs of one run, as Prefect's client reads and writes them."""

    def __init__(self, state: Any, description: str) -> None:
        state.state_details.run_input_keyset = {"description": "k-description", "response": "k-response", "schema": "k-schema"}
        self.state, self.inputs, self.writes = state, {"k-description": json.dumps(description)}, 0

    def read_flow_run(self, run_id: UUID) -> Any:
        return SimpleNamespace(id=run_id, state=self.state)

    def read_flow_run_input(self, *, flow_run_id: UUID, key: str) -> str:
        return self.inputs[key]

    def delete_flow_run_input(self, *, flow_run_id: UUID, key: str) -> None:
        del self.inputs[key]

    def create_flow_run_input(self, *, flow_run_id: UUID, key: str, value: str) -> None:
        self.inputs[key], self.writes = value, self.writes + 1

    @property
    def text(self) -> str:
        return str(json.loads(self.inputs["k-description"]))


def test_a_waiting_form_shows_the_findings_registered_since(demo_org: Session, settings: Settings,
                                                             monkeypatch: Any) -> None:
    import tasks.lifecycle.prefect as lp

    monkeypatch.setattr(lp, "session_scope", _scope(demo_org))
    iid = in_stationing(demo_org, settings)
    insp = demo_org.get(tables.Inspection, iid)
    assert insp is not None
    open_gate(session=demo_org, settings=settings, round_id=insp.round_id, inspection_id=iid, gate=Gate.STATIONING_DONE,
              attempt=1, flow_run_id=RUN, now=NOW)
    refusal = "> **上次提交未被接受：验证码不正确。请改正后重新提交。**\n\n"
    server = FakeServer(Suspended(pause_key=f"stationing-done-{iid}-1-1"), refusal + "## 旧说明\n\n- 已登记问题 0 个\n")
    record_findings(session=demo_org, inspection=insp, findings=sample_findings(), by="巡察组", now=NOW)
    assert refresh_gate_texts(server, iid) == 1
    assert server.text.startswith(refusal + "## ") and "已登记问题 3 个" in server.text
    assert refresh_gate_texts(server, iid) == 0 and server.writes == 1  # nothing changed since
    # Waiting under another key (another gate), or running: left alone.
    other = FakeServer(Suspended(pause_key=f"awaiting-plan-{iid}-1-0"), "## 等待\n")
    assert refresh_gate_texts(other, iid) == 0 and other.text == "## 等待\n"
    running = FakeServer(Running(), "## 旧\n")
    assert refresh_gate_texts(running, iid) == 0


def _scope(session: Session) -> Any:
    from contextlib import contextmanager

    @contextmanager
    def scope() -> Any:
        yield session
    return scope
