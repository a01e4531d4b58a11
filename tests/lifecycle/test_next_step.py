"""What the unit flow does next (models/transitions.next_step), against the stage table: every
stage has its step, each step moves only as STAGES allows, and a walk from 巡察准备 takes every
stage in the lifecycle order and ends done at 已归档."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from models.enums import STAGE_ORDER, Gate, Stage
from models.transitions import (
    PAST_SEARCH,
    STAGES,
    InspectionState,
    Step,
    StepKind,
    Work,
    next_step,
)

GROUPED = frozenset({Work.COMMON_GROUPING})
STARTED = frozenset({Work.COMMON_GROUPING, Work.RECTIFICATION})


def state(stage: Stage, **kw: Any) -> InspectionState:
    base = InspectionState(round_id=1, stage=stage, search_count=1, label="第一轮·甲单位", pending_clues=0,
                           findings=3, open_items=0, plan_submitted=False, plan_approved=False)
    return dataclasses.replace(base, **kw)


def moves(stage: Stage) -> frozenset[Stage]:
    return STAGES.allowed[stage]


# (stage, state fields, once-per-pass work done, expected step)
CASES: list[tuple[Stage, dict[str, Any], frozenset[Work], Step]] = [
    (Stage.PREPARATION, {}, frozenset(),
     Step(StepKind.RUN, Stage.PREPARATION, Work.STATIONING, leads_to=moves(Stage.PREPARATION))),
    (Stage.STATIONING, {}, frozenset(),
     Step(StepKind.GATE, Stage.STATIONING, Work.REPORTING, Gate.STATIONING_DONE, leads_to=moves(Stage.STATIONING))),
    (Stage.REPORTING, {}, frozenset(),
     Step(StepKind.GATE, Stage.REPORTING, Work.REPORT_REVIEW, Gate.REPORT, leads_to=moves(Stage.REPORTING))),
    (Stage.FEEDBACK, {}, frozenset(), Step(StepKind.RUN, Stage.FEEDBACK, Work.COMMON_GROUPING, once=True)),
    (Stage.FEEDBACK, {}, GROUPED, Step(StepKind.RUN, Stage.FEEDBACK, Work.FEEDBACK, leads_to=moves(Stage.FEEDBACK))),
    (Stage.CLUE_TRANSFER, {}, frozenset(), Step(StepKind.RUN, Stage.CLUE_TRANSFER, Work.COMMON_GROUPING, once=True)),
    (Stage.CLUE_TRANSFER, {"pending_clues": 2}, GROUPED,
     Step(StepKind.GATE, Stage.CLUE_TRANSFER, Work.CLUE_TRANSFER, Gate.CLUE_TRANSFER, leads_to=moves(Stage.CLUE_TRANSFER))),
    (Stage.CLUE_TRANSFER, {"pending_clues": 0}, GROUPED,  # nothing to approve: transferred at once
     Step(StepKind.RUN, Stage.CLUE_TRANSFER, Work.CLUE_TRANSFER, leads_to=moves(Stage.CLUE_TRANSFER))),
    (Stage.RECTIFICATION, {}, frozenset(), Step(StepKind.RUN, Stage.RECTIFICATION, Work.COMMON_GROUPING, once=True)),
    (Stage.RECTIFICATION, {"open_items": 2}, GROUPED,
     Step(StepKind.RUN, Stage.RECTIFICATION, Work.RECTIFICATION, once=True)),
    (Stage.RECTIFICATION, {"open_items": 2}, STARTED, Step(StepKind.WAIT_FOR_PLAN, Stage.RECTIFICATION, Work.PLAN)),
    (Stage.RECTIFICATION, {"open_items": 2, "plan_submitted": True}, STARTED,
     Step(StepKind.GATE, Stage.RECTIFICATION, Work.PLAN, Gate.RECT_PLAN)),
    # Plan approved, no item reported done: nothing to close out yet, the run waits for progress.
    (Stage.RECTIFICATION, {"open_items": 2, "plan_submitted": True, "plan_approved": True}, STARTED,
     Step(StepKind.WAIT_FOR_CLOSE_OUT, Stage.RECTIFICATION, Work.CLOSE_OUT)),
    (Stage.RECTIFICATION, {"open_items": 2, "plan_submitted": True, "plan_approved": True, "items_to_close": 1}, STARTED,
     Step(StepKind.GATE, Stage.RECTIFICATION, Work.CLOSE_OUT, Gate.CLOSE_OUT, leads_to=moves(Stage.RECTIFICATION))),
    (Stage.RECTIFICATION, {"open_items": 0}, STARTED,  # nothing to plan: straight to close-out
     Step(StepKind.GATE, Stage.RECTIFICATION, Work.CLOSE_OUT, Gate.CLOSE_OUT, leads_to=moves(Stage.RECTIFICATION))),
    (Stage.ARCHIVING, {}, frozenset(), Step(StepKind.RUN, Stage.ARCHIVING, Work.COMMON_GROUPING, once=True)),
    (Stage.ARCHIVING, {}, GROUPED, Step(StepKind.ARCHIVE, Stage.ARCHIVING, Work.ARCHIVING, leads_to=moves(Stage.ARCHIVING))),
    (Stage.ARCHIVED, {}, frozenset(), Step(StepKind.RUN, Stage.ARCHIVED, Work.COMMON_GROUPING, once=True)),
    (Stage.ARCHIVED, {}, GROUPED, Step(StepKind.DONE, Stage.ARCHIVED)),
]


@pytest.mark.parametrize(("stage", "fields", "done", "expected"), CASES,
                         ids=[f"{c[0].name}-{i}" for i, c in enumerate(CASES)])
def test_next_step_per_stage(stage: Stage, fields: dict[str, Any], done: frozenset[Work], expected: Step) -> None:
    step = next_step(state(stage, **fields), done=done)
    assert step == expected
    assert step.stage is stage
    assert step.leads_to <= STAGES.allowed[stage]  # no step moves where the table does not allow


def test_cases_cover_every_stage_of_the_table() -> None:
    assert {c[0] for c in CASES} == set(STAGES.allowed) == set(Stage)
    for stage in Stage:
        # The stage's move, once the once-per-pass work is done: exactly the table's moves.
        step = next_step(state(stage, open_items=0), done=STARTED)
        assert step.leads_to == STAGES.allowed[stage]
        assert (step.kind is StepKind.DONE) == (not STAGES.allowed[stage])


def test_the_grouping_comes_once_the_search_is_over_for_good() -> None:
    """Past the search: no move of the table leads back to 集中巡察."""
    assert PAST_SEARCH == {Stage.FEEDBACK, Stage.CLUE_TRANSFER, Stage.RECTIFICATION, Stage.ARCHIVING, Stage.ARCHIVED}
    for stage in Stage:
        first = next_step(state(stage))
        assert (first.work is Work.COMMON_GROUPING) == (stage in PAST_SEARCH)


def test_a_walk_from_preparation_takes_every_stage_in_order() -> None:
    """The flow's loop on a simulated inspection: approve every gate, submit and approve the plan;
    the stages come in the lifecycle order, each once-per-pass work once, and it ends done."""
    st, done, seen, works = state(Stage.PREPARATION, pending_clues=1), set[Work](), [Stage.PREPARATION], []
    for _ in range(50):
        step = next_step(st, done=frozenset(done))
        if step.kind is StepKind.DONE:
            break
        assert step.work is not None
        works.append(step.work)
        if step.once:
            done.add(step.work)
        if step.work is Work.RECTIFICATION:
            st = dataclasses.replace(st, open_items=2)
        elif step.kind is StepKind.WAIT_FOR_PLAN:
            st = dataclasses.replace(st, plan_submitted=True)
        elif step.kind is StepKind.WAIT_FOR_CLOSE_OUT:
            st = dataclasses.replace(st, items_to_close=2)  # the unit reports its items done
        elif step.work is Work.PLAN:
            st = dataclasses.replace(st, plan_approved=True)
        elif step.leads_to:
            # The main path: the move forward the table allows (a returned report goes back).
            (forward,) = [s for s in step.leads_to if STAGE_ORDER.index(s) > STAGE_ORDER.index(st.stage)]
            STAGES.check(st.stage, forward)
            st = dataclasses.replace(st, stage=forward, pending_clues=0, open_items=0 if forward is Stage.ARCHIVING
                                     else st.open_items)
            seen.append(forward)
    else:
        pytest.fail("the walk did not end")
    assert seen == STAGE_ORDER
    assert works == [Work.STATIONING, Work.REPORTING, Work.REPORT_REVIEW, Work.COMMON_GROUPING, Work.FEEDBACK,
                     Work.CLUE_TRANSFER, Work.RECTIFICATION, Work.PLAN, Work.PLAN, Work.CLOSE_OUT, Work.CLOSE_OUT,
                     Work.ARCHIVING]


def test_a_returned_report_searches_again() -> None:
    back = next_step(state(Stage.REPORTING))
    assert Stage.STATIONING in back.leads_to
    again = next_step(state(Stage.STATIONING, search_count=2))
    assert (again.gate, again.work) == (Gate.STATIONING_DONE, Work.REPORTING)
