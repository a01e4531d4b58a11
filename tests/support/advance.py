"""Bring one unit's inspection to a stage the way the product does: through the stage functions
the unit flow's tasks call (tasks/lifecycle/stages.py, as tasks/lifecycle/prefect.py wraps them),
every gate answered 通过, one stage at a time, each step checked against the stage table
(models/transitions.STAGES).

What a stage needs from the people involved is passed in: the findings and clues the team
records on site, the team's report (by, summary), the unit's progress report before close-out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.enums import Stage
from models.forms import FindingIn, ProgressIn
from models.settings import Settings
from models.tables import Inspection
from models.transitions import STAGES, reached
from tasks.clues.ledger import store_clue
from tasks.lifecycle import stages
from tasks.lifecycle.findings import record_findings
from tasks.supervision.rectification import report_progress
from tests.conftest import NOW


@dataclass
class Advanced:
    """Where the unit got to, and what was recorded on the way (ids in recording order)."""

    stage: Stage
    finding_ids: list[int] = field(default_factory=list)
    clue_ids: list[int] = field(default_factory=list)


def advance(
    s: Session, settings: Settings, inspection_id: int, target: Stage, *,
    findings: Sequence[FindingIn] = (), clues: Sequence[tuple[str, str]] = (),
    reported_by: str = "组长", summary: str = "", progress: Mapping[str, Any] | None = None,
    now: datetime = NOW, link: str = "",
) -> Advanced:
    """Move the inspection from its stage on to `target` (no commit).

    `findings` and `clues` ((kind, summary) pairs) are recorded by 组长 once the unit is in
    集中巡察 (also when `target` is 集中巡察 itself). Reaching 督促整改 includes its items
    (start_rectification). Leaving it, the unit reports every open item 已完成待核 (with the
    extra `progress` fields of ProgressIn) and the office closes them out."""
    insp = s.get(Inspection, inspection_id)
    assert insp is not None, inspection_id
    done = Advanced(Stage(insp.stage))
    kw: dict[str, Any] = {"settings": settings, "inspection_id": inspection_id, "now": now, "link": link}
    if done.stage is Stage.PREPARATION and target is not Stage.PREPARATION:
        stages.prepare(session=s, **kw)
    recorded = False
    while True:
        stage = Stage(insp.stage)
        if stage is Stage.STATIONING and not recorded:
            _record(s, insp, findings, clues, done, now)
            recorded = True
        if stage is target:
            break
        assert not reached(stage, target), f"{stage.value} 已过 {target.value}"
        _step(s, settings, insp, stage, kw, reported_by=reported_by, summary=summary, progress=progress or {}, now=now)
        after = Stage(insp.stage)
        assert after is not stage, f"{stage.value} 未能推进"
        STAGES.check(stage, after)
    done.stage = Stage(insp.stage)
    return done


def _record(s: Session, insp: Inspection, findings: Sequence[FindingIn], clues: Sequence[tuple[str, str]],
            done: Advanced, now: datetime) -> None:
    if findings:
        rows = record_findings(session=s, inspection=insp, findings=list(findings), by="组长", now=now)
        done.finding_ids = [r.id for r in rows if r.id is not None]
    for kind, text in clues:
        clue = store_clue(session=s, inspection=insp, kind=kind, summary=text, by="组长", now=now)
        assert clue.id is not None
        done.clue_ids.append(clue.id)


def _step(s: Session, settings: Settings, insp: Inspection, stage: Stage, kw: dict[str, Any], *,
          reported_by: str, summary: str, progress: Mapping[str, Any], now: datetime) -> None:
    """The stage's own work and the gate after it, answered 通过."""
    if stage is Stage.PREPARATION:
        stages.start_stationing(session=s, **kw)
    elif stage is Stage.STATIONING:
        stages.conclude_stationing(session=s, search_count=insp.search_count, by=reported_by, summary=summary, **kw)
    elif stage is Stage.REPORTING:
        stages.review_report(session=s, search_count=insp.search_count, approved=True, comment="", **kw)
    elif stage is Stage.FEEDBACK:
        stages.issue_feedback(session=s, **kw)
    elif stage is Stage.CLUE_TRANSFER:
        stages.transfer_clues(session=s, approved=True, **kw)
        stages.start_rectification(session=s, **kw)
    elif stage is Stage.RECTIFICATION:
        items = stages.open_items(session=s, inspection_id=insp.id or 0)
        if items:
            report_progress(session=s, settings=settings, inspection=insp, by="单位书记", now=now, formal=True,
                            reports=[ProgressIn(item_id=i.id, status="已完成待核", measure_taken="已整改", **progress)
                                     for i in items])
        stages.close_out(session=s, approved=True, attempt=1, comment="", **kw)
    elif stage is Stage.ARCHIVING:
        stages.archive(session=s, **kw)
