"""Fault injection for the crash tests (test plumbing, never imported by the product).

The stack of the end-to-end tests puts tests/support/inject on PYTHONPATH; its sitecustomize
calls `install()` in every process of that stack when XUNCHA_FAULT_HOLD is set, which wraps the
stationing stage of tasks/lifecycle/stages.py.

XUNCHA_FAULT_HOLD="<stage>:<unit name>:<seconds>" makes that stage, for that unit, write a
marker file under home/faults and then wait, the first time only, with its database writes made
but not committed, so a test can kill the worker and its flow-run process in the middle of the
stage's work."""

from __future__ import annotations

import functools
import os
import time
from typing import Any

from sqlmodel import Session

from models.settings import get_settings
from models.tables import Inspection, Unit


def install() -> None:
    """Wrap 集中巡察 so that, after its writes are flushed and before the task commits, it holds."""
    from tasks.lifecycle import stages

    original = stages.start_stationing
    if getattr(original, "fault_hold", False):
        return

    @functools.wraps(original)
    def start_stationing(*, session: Session, inspection_id: int, **kw: Any) -> Any:
        stage = original(session=session, inspection_id=inspection_id, **kw)
        session.flush()
        hold("集中巡察", session, inspection_id)
        return stage

    start_stationing.fault_hold = True  # type: ignore[attr-defined]
    stages.start_stationing = start_stationing  # type: ignore[assignment]


def hold(stage: str, session: Session, inspection_id: int) -> None:
    spec = os.environ.get("XUNCHA_FAULT_HOLD", "")
    if not spec:
        return
    want_stage, want_unit, seconds = spec.rsplit(":", 2)
    if want_stage != stage:
        return
    insp = session.get(Inspection, inspection_id)
    unit = session.get(Unit, insp.unit_id) if insp else None
    if unit is None or unit.name != want_unit:
        return
    marker = get_settings().home / "faults" / f"{stage}-{inspection_id}.held"
    if marker.exists():
        return
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(os.getpid()), encoding="ascii")
    time.sleep(float(seconds))
