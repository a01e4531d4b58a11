"""The one table of allowed stage changes."""

from __future__ import annotations

from models.enums import Stage
from models.errors import IllegalTransition

ALLOWED: dict[Stage, frozenset[Stage]] = {
    Stage.PREPARATION: frozenset({Stage.STATIONING}),
    Stage.STATIONING: frozenset({Stage.REPORTING}),
    # The leading group may return a report for a second search (退回重新查找).
    Stage.REPORTING: frozenset({Stage.FEEDBACK, Stage.STATIONING}),
    Stage.FEEDBACK: frozenset({Stage.CLUE_TRANSFER}),
    Stage.CLUE_TRANSFER: frozenset({Stage.RECTIFICATION}),
    Stage.RECTIFICATION: frozenset({Stage.ARCHIVING}),
    Stage.ARCHIVING: frozenset({Stage.ARCHIVED}),
    Stage.ARCHIVED: frozenset(),
}


def check_transition(current: Stage, target: Stage) -> None:
    if target not in ALLOWED[current]:
        raise IllegalTransition(f"不允许的阶段变更：{current.value} → {target.value}")


def reached(current: Stage, stage: Stage) -> bool:
    """True once `current` is at or past `stage` in the lifecycle order."""
    order = list(Stage)
    return order.index(current) >= order.index(stage)
