"""The tables of allowed status changes: one per status with rules (inspection stage, round, clue,
transfer letter, rectification item, approval, look-back). Every change of such a status goes
through `Machine.move` (or `check`), which raises `IllegalTransition` with a Chinese reason.

The stage table also decides what the unit flow does next (`next_step`): the flow asks it
instead of re-encoding the lifecycle order."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from models.enums import (
    ApprovalStatus,
    ClueStatus,
    ItemStatus,
    LetterStatus,
    LookBackStatus,
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

MACHINES: tuple[Machine[Any], ...] = (STAGES, ROUNDS, CLUES, LETTERS, ITEMS, APPROVALS, LOOK_BACKS)


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

    @property
    def waiting_for_plan(self) -> bool:
        """In rectification with open items and no plan approved yet (the plan step)."""
        return self.stage is Stage.RECTIFICATION and not self.plan_approved and self.open_items > 0


def letter_status(acknowledged: bool) -> LetterStatus:
    return LetterStatus.ACKNOWLEDGED if acknowledged else LetterStatus.SENT

