"""整改销号 opens only when there is something to decide (tasks/supervision/close_out.py): items
the unit reported done, and after 暂不销号 only those reported again since. The relay wakes the
runs whose wake-up was lost."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from models import tables
from models.enums import Gate, Stage
from models.forms import PlanItemIn, ProgressIn
from models.settings import Settings
from tasks.lifecycle import approvals, stages
from tasks.supervision.close_out import close_outs_due, items_to_close
from tasks.supervision.rectification import report_progress, review_plan, submit_plan
from tests.conftest import NOW
from tests.support.advance import advance
from tests.support.factories import in_stationing, sample_findings

RUN = "00000000-0000-0000-0000-0000000000aa"


def rectifying(s: Session, settings: Settings) -> tuple[tables.Inspection, list[int]]:
    """A unit in 督促整改 with its plan approved and two open items, its run recorded."""
    iid = in_stationing(s, settings)
    advance(s, settings, iid, Stage.RECTIFICATION, findings=sample_findings())
    insp = s.get(tables.Inspection, iid)
    assert insp is not None
    insp.flow_run_id = RUN
    items = [i.id or 0 for i in stages.open_items(session=s, inspection_id=iid)]
    submit_plan(session=s, settings=settings, inspection=insp, by="单位书记", now=NOW, link="", items=[
        PlanItemIn(item_id=i, measure="建立台账", owner="张三", deadline=NOW.date() + timedelta(days=30)) for i in items])
    review_plan(session=s, settings=settings, inspection_id=iid, approved=True, attempt=1, comment="", now=NOW, link="")
    s.flush()
    return insp, items


def progress(s: Session, settings: Settings, insp: tables.Inspection, item: int, status: str, at: int) -> None:
    report_progress(session=s, settings=settings, inspection=insp, formal=False, by="单位书记", now=NOW + timedelta(hours=at),
                    reports=[ProgressIn(item_id=item, status=status, measure_taken="已整改")])  # type: ignore[arg-type]
    s.flush()


def answer_close_out(s: Session, settings: Settings, iid: int, attempt: int, approved: bool, at: int) -> None:
    rid = s.get(tables.Inspection, iid).round_id  # type: ignore[union-attr]
    a = approvals.open_gate(session=s, settings=settings, round_id=rid,
                            inspection_id=iid, gate=Gate.CLOSE_OUT, attempt=attempt, flow_run_id=RUN,
                            now=NOW + timedelta(hours=at))
    assert a.id is not None
    assert close_outs_due(session=s) == []  # a gate is open: nothing to wake
    approvals.record_decision(session=s, approval_id=a.id, decision="同意销号" if approved else "暂不销号",
                              approver="巡察办", comment="" if approved else "材料不全", now=NOW + timedelta(hours=at))
    stages.close_out(session=s, settings=settings, inspection_id=iid, approved=approved, attempt=attempt, comment="",
                     now=NOW + timedelta(hours=at), link="")
    s.flush()


def test_close_out_waits_for_items_reported_done(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    insp, (first, second) = rectifying(s, settings)
    iid = insp.id or 0
    # Plan approved, nothing reported done: no 整改销号, nothing to wake.
    assert items_to_close(session=s, inspection_id=iid) == 0 and close_outs_due(session=s) == []
    progress(s, settings, insp, first, "整改中", 1)
    assert items_to_close(session=s, inspection_id=iid) == 0
    progress(s, settings, insp, first, "已完成待核", 2)
    assert items_to_close(session=s, inspection_id=iid) == 1 and close_outs_due(session=s) == [(iid, RUN)]
    # 暂不销号: the same report does not open it again; a new report does.
    answer_close_out(s, settings, iid, 1, False, 3)
    assert items_to_close(session=s, inspection_id=iid) == 0 and close_outs_due(session=s) == []
    progress(s, settings, insp, first, "已完成待核", 4)
    assert items_to_close(session=s, inspection_id=iid) == 1 and close_outs_due(session=s) == [(iid, RUN)]
    # 同意销号 closes it; the other item still open, not reported done: wait again.
    answer_close_out(s, settings, iid, 2, True, 5)
    assert insp.stage == Stage.RECTIFICATION
    assert items_to_close(session=s, inspection_id=iid) == 0 and close_outs_due(session=s) == []
    progress(s, settings, insp, second, "已完成待核", 6)
    assert items_to_close(session=s, inspection_id=iid) == 1 and close_outs_due(session=s) == [(iid, RUN)]
    answer_close_out(s, settings, iid, 3, True, 7)
    assert insp.stage == Stage.ARCHIVING and close_outs_due(session=s) == []
