"""The tables of allowed status changes, one per status (inspection stage, round, clue, transfer
letter, rectification item, approval, look-back, common-problem grouping, common problem, alert,
results letter).
Every change of a status goes through `Machine.move` (a record) or `Machine.bulk` (a set-based
UPDATE), which raise `IllegalTransition` with a Chinese reason; tests/ops/test_status_writes.py
fails on a status written anywhere else.

The stage table also decides what the unit flow does next (`next_step`): the flow asks it
instead of re-encoding the lifecycle order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from models.enums import (
    AlertStatus,
    ApprovalStatus,
    ClueStatus,
    CommonProblemStatus,
    Gate,
    GroupingStatus,
    ItemStatus,
    LetterStatus,
    LookBackStatus,
    ResultsLetterStatus,
    RoundStatus,
    Stage,
)
from models.errors import IllegalTransition

S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class Machine(Generic[S]):
    """One status and its allowed moves; `noun` names it in the refusal (阶段, 线索状态 …)."""

    noun: str
    allowed: dict[S, frozenset[S]]

    def check(self, current: S, target: S) -> None:
        if target not in self.allowed[current]:
            raise IllegalTransition(f"不允许的{self.noun}变更：{current.value} → {target.value}")

    def move(self, record: Any, target: S, *, attr: str = "status") -> None:
        """Check the move from the record's current value, then make it."""
        current = getattr(record, attr)
        self.check(type(target)(current), target)
        setattr(record, attr, target)

    def bulk(self, sources: Iterable[S], target: S) -> dict[str, S]:
        """A set-based UPDATE's change of status: its WHERE admits only rows in `sources`, each of
        which must be allowed to move to `target`. Returns the `.values(...)` keyword."""
        for current in sources:
            self.check(current, target)
        return {"status": target}


STAGES: Machine[Stage] = Machine("阶段", {
    Stage.PREPARATION: frozenset({Stage.STATIONING}),
    Stage.STATIONING: frozenset({Stage.REPORTING}),
    # The leading group may return a report for a second search (退回重新查找).
    Stage.REPORTING: frozenset({Stage.FEEDBACK, Stage.STATIONING}),
    Stage.FEEDBACK: frozenset({Stage.CLUE_TRANSFER}),
    Stage.CLUE_TRANSFER: frozenset({Stage.RECTIFICATION}),
    Stage.RECTIFICATION: frozenset({Stage.ARCHIVING}),
    Stage.ARCHIVING: frozenset({Stage.ARCHIVED}),
    Stage.ARCHIVED: frozenset(),
})
ALLOWED = STAGES.allowed  # the stage table, as tests and documents read it

ROUNDS: Machine[RoundStatus] = Machine("轮次状态", {
    RoundStatus.PLANNING: frozenset({RoundStatus.ACTIVE, RoundStatus.RETURNED}),
    RoundStatus.RETURNED: frozenset(),  # a returned plan is started again as a new round
    RoundStatus.ACTIVE: frozenset({RoundStatus.DONE}),
    RoundStatus.DONE: frozenset(),
})

CLUES: Machine[ClueStatus] = Machine("线索状态", {
    # 待移交 → 已移交 at the clue-transfer stage or at once (边巡边移); 暂缓 when not approved.
    ClueStatus.PENDING: frozenset({ClueStatus.TRANSFERRED, ClueStatus.HELD}),
    ClueStatus.HELD: frozenset({ClueStatus.TRANSFERRED}),
    ClueStatus.TRANSFERRED: frozenset({ClueStatus.RECEIVED}),
    # 初步核实 keeps it open; any other result closes it.
    ClueStatus.RECEIVED: frozenset({ClueStatus.CLOSED}),
    ClueStatus.CLOSED: frozenset(),
})

LETTERS: Machine[LetterStatus] = Machine("移交函状态", {
    LetterStatus.SENT: frozenset({LetterStatus.ACKNOWLEDGED}),
    LetterStatus.ACKNOWLEDGED: frozenset(),
})

_OPEN_ITEM = frozenset({ItemStatus.NOT_STARTED, ItemStatus.IN_PROGRESS, ItemStatus.PENDING_CHECK})
ITEMS: Machine[ItemStatus] = Machine("整改事项状态", {
    # The unit reports any open status; only the office's close-out (or a look-back check of
    # 已整改) closes an item; a look-back reopens a closed item found not rectified.
    ItemStatus.NOT_STARTED: _OPEN_ITEM | {ItemStatus.CLOSED},
    ItemStatus.IN_PROGRESS: _OPEN_ITEM | {ItemStatus.CLOSED},
    ItemStatus.PENDING_CHECK: _OPEN_ITEM | {ItemStatus.CLOSED},
    ItemStatus.CLOSED: frozenset({ItemStatus.IN_PROGRESS}),
})

APPROVALS: Machine[ApprovalStatus] = Machine("审批状态", {
    ApprovalStatus.PENDING: frozenset({ApprovalStatus.DECIDED}),
    ApprovalStatus.DECIDED: frozenset(),
})

LOOK_BACKS: Machine[LookBackStatus] = Machine("回头看状态", {
    LookBackStatus.REGISTERED: frozenset({LookBackStatus.STARTED, LookBackStatus.IN_PROGRESS}),
    LookBackStatus.STARTED: frozenset({LookBackStatus.IN_PROGRESS}),
    LookBackStatus.IN_PROGRESS: frozenset({LookBackStatus.DONE}),
    LookBackStatus.DONE: frozenset(),
})

GROUPINGS: Machine[GroupingStatus] = Machine("共性问题归类状态", {
    # Confirmed by its run, or settled empty before a run was started for it.
    GroupingStatus.REGISTERED: frozenset({GroupingStatus.STARTED, GroupingStatus.CONFIRMED}),
    GroupingStatus.STARTED: frozenset({GroupingStatus.CONFIRMED}),
    GroupingStatus.CONFIRMED: frozenset(),  # late common findings register a new grouping
})

COMMON_PROBLEMS: Machine[CommonProblemStatus] = Machine("共性问题状态", {
    CommonProblemStatus.SUPERVISING: frozenset({CommonProblemStatus.CLOSED}),
    CommonProblemStatus.CLOSED: frozenset(),
})

ALERTS: Machine[AlertStatus] = Machine("提醒状态", {
    AlertStatus.PENDING: frozenset({AlertStatus.SENDING, AlertStatus.NO_RECIPIENT}),
    # Claimed again once the lease of a deliverer that died mid-send has run out.
    AlertStatus.SENDING: frozenset({AlertStatus.SENDING, AlertStatus.SENT, AlertStatus.PENDING, AlertStatus.UNDELIVERABLE}),
    AlertStatus.SENT: frozenset(),
    # The office re-sends (the address is current again) or marks it handled (tasks/infra/undelivered.py).
    AlertStatus.NO_RECIPIENT: frozenset({AlertStatus.PENDING, AlertStatus.HANDLED}),
    AlertStatus.UNDELIVERABLE: frozenset({AlertStatus.PENDING, AlertStatus.HANDLED}),
    AlertStatus.HANDLED: frozenset(),
})

RESULTS_LETTERS: Machine[ResultsLetterStatus] = Machine("成果运用函状态", {
    # Signed for by the receiver (tasks/results/use.py), then closed once its uses are recorded.
    ResultsLetterStatus.SENT: frozenset({ResultsLetterStatus.IN_USE}),
    ResultsLetterStatus.IN_USE: frozenset({ResultsLetterStatus.CLOSED}),
    ResultsLetterStatus.CLOSED: frozenset(),
})

MACHINES: tuple[Machine[Any], ...] = (STAGES, ROUNDS, CLUES, LETTERS, ITEMS, APPROVALS, LOOK_BACKS, GROUPINGS,
                                      COMMON_PROBLEMS, ALERTS, RESULTS_LETTERS)


def check_transition(current: Stage, target: Stage) -> None:
    STAGES.check(current, target)


def reached(current: Stage, stage: Stage) -> bool:
    """True once `current` is at or past `stage` in the lifecycle order."""
    order = list(Stage)
    return order.index(current) >= order.index(stage)


@dataclass(frozen=True)
class InspectionState:
    """What the unit flow needs to know of one inspection, as read at one moment (the hand-off
    from tasks/lifecycle/prefect.read_inspection to flows/lifecycle/inspect_unit.py)."""

    round_id: int
    stage: Stage
    search_count: int
    label: str  # 轮次·单位
    pending_clues: int
    findings: int
    open_items: int
    plan_submitted: bool
    plan_approved: bool
    # Items the unit reported done (已完成待核) since the last 暂不销号: what 整改销号 decides on.
    items_to_close: int = 0

    @property
    def waiting_for_plan(self) -> bool:
        """In rectification with open items and no plan approved yet (the plan step)."""
        return self.stage is Stage.RECTIFICATION and not self.plan_approved and self.open_items > 0


# What the unit flow does next --------------------------------------------------------------

class Work(StrEnum):
    """A piece of the unit flow's work; flows/lifecycle/inspect_unit.py runs each with its task."""

    STATIONING = "stationing"  # 集中巡察 begins
    REPORTING = "reporting"  # the team's report, once its leader says stationing is over
    REPORT_REVIEW = "report review"  # the leading group's answer: feedback, or search again
    COMMON_GROUPING = "common grouping"  # register and start the round's common-problem grouping
    FEEDBACK = "feedback"
    CLUE_TRANSFER = "clue transfer"
    RECTIFICATION = "rectification"  # 督促整改 begins: items, documents, alerts
    PLAN = "plan"  # the rectification plan: waited for, then reviewed
    CLOSE_OUT = "close out"
    ARCHIVING = "archiving"


class StepKind(StrEnum):
    RUN = "run"  # run the work, no person needed
    GATE = "gate"  # ask the gate, then run the work with its answer
    WAIT_FOR_PLAN = "wait for plan"  # hold no process until the unit submits its plan (报送整改方案)
    WAIT_FOR_CLOSE_OUT = "wait for close-out"  # hold no process until the unit reports items done (报送整改进展)
    ARCHIVE = "archive"  # file the dossier and publish the unit's figures
    DONE = "done"


@dataclass(frozen=True)
class Step:
    """What the unit flow does next at `stage`. `leads_to`: the stages the step may move the
    inspection to (`STAGES.allowed[stage]`); empty when it leaves the stage as it is. A step that
    is `once` is taken once per pass of the flow: the flow passes its work back in `done`."""

    kind: StepKind
    stage: Stage
    work: Work | None = None
    gate: Gate | None = None
    once: bool = False
    leads_to: frozenset[Stage] = frozenset()


def _reachable(start: Stage) -> frozenset[Stage]:
    """`start` and every stage the table allows to follow it, however many moves on."""
    seen, todo = {start}, [start]
    while todo:
        for nxt in STAGES.allowed[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return frozenset(seen)


# Past the search: no move of the table leads back to 集中巡察 (the report is approved for good).
PAST_SEARCH = frozenset(s for s in Stage if Stage.STATIONING not in _reachable(s))

# The step that moves each stage on, and the gate it asks first (None: no person is asked).
_MOVES: dict[Stage, tuple[Work, Gate | None]] = {
    Stage.PREPARATION: (Work.STATIONING, None),
    Stage.STATIONING: (Work.REPORTING, Gate.STATIONING_DONE),
    Stage.REPORTING: (Work.REPORT_REVIEW, Gate.REPORT),
    Stage.FEEDBACK: (Work.FEEDBACK, None),
    Stage.CLUE_TRANSFER: (Work.CLUE_TRANSFER, Gate.CLUE_TRANSFER),
    Stage.RECTIFICATION: (Work.CLOSE_OUT, Gate.CLOSE_OUT),
    Stage.ARCHIVING: (Work.ARCHIVING, None),
}


def next_step(state: InspectionState, *, done: frozenset[Work] = frozenset()) -> Step:
    """What the unit flow does next for `state`: the once-per-pass work not yet in `done` first
    (the common-problem grouping once past the search, the start of rectification), then the
    stage's own step, which moves the inspection on as the stage table allows."""
    stage = state.stage
    if stage in PAST_SEARCH and Work.COMMON_GROUPING not in done:
        return Step(StepKind.RUN, stage, Work.COMMON_GROUPING, once=True)
    if not STAGES.allowed[stage]:
        return Step(StepKind.DONE, stage)
    if stage is Stage.RECTIFICATION:
        if Work.RECTIFICATION not in done:
            return Step(StepKind.RUN, stage, Work.RECTIFICATION, once=True)
        if state.waiting_for_plan and not state.plan_submitted:  # no review before there is a plan
            return Step(StepKind.WAIT_FOR_PLAN, stage, Work.PLAN)
        if state.waiting_for_plan:
            return Step(StepKind.GATE, stage, Work.PLAN, Gate.RECT_PLAN)
        if state.open_items and not state.items_to_close:  # nothing to decide until items are reported done
            return Step(StepKind.WAIT_FOR_CLOSE_OUT, stage, Work.CLOSE_OUT)
    work, gate = _MOVES[stage]
    if stage is Stage.CLUE_TRANSFER and not state.pending_clues:
        gate = None  # nothing to approve: transferred at once
    kind = StepKind.ARCHIVE if work is Work.ARCHIVING else StepKind.GATE if gate else StepKind.RUN
    return Step(kind, stage, work, gate, leads_to=STAGES.allowed[stage])


def letter_status(acknowledged: bool) -> LetterStatus:
    return LetterStatus.ACKNOWLEDGED if acknowledged else LetterStatus.SENT

