"""Fault injection for the crash tests, inert unless XUNCHA_FAULT_HOLD is set.

XUNCHA_FAULT_HOLD="<stage>:<unit name>:<seconds>" makes that stage, for that unit, write a
marker file under home/faults and then wait, the first time only, with its database writes made
but not committed, so a test can kill the worker and its flow-run process in the middle of the
stage's work."""

from __future__ import annotations

import os
import time

from sqlmodel import Session

from models.settings import get_settings
from models.tables import Inspection, Unit


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
