"""What the thin @task wrappers hand to the flows, typed so mypy sees the contract (as
InspectionState in models/transitions.py does for the unit flow): record IDs, counts and
Chinese-labelled rows of counts only, never confidential text. Frozen dataclasses, so Prefect
persists them as it did the dicts they replace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.enums import ApprovalStatus


@dataclass(frozen=True)
class GateAsked:
    """A gate's approval record as open_gate_task left it: still waiting, or decided in an earlier
    run of the flow (then its decision, approver and comment)."""

    id: int
    status: ApprovalStatus
    decision: str
    approver: str
    comment: str
    text: str = ""  # the form's description (gate_summary.gate_text), when asked for: never confidential

    @property
    def decided(self) -> bool:
        return self.status is ApprovalStatus.DECIDED


@dataclass(frozen=True)
class SweepSummary:
    """One daily sweep (督办扫描), for the flow's artifacts and the start of its look-backs."""

    notices: int  # reminders and escalations written
    by_rung: dict[int, int]  # rung of the ladder -> items
    alerts: int
    pace_warnings: int  # units newly warned that their pace will miss a deadline
    missing_reports: int
    plan_notices: int  # reminders for plans not submitted, over all rungs
    missing_plans: int
    look_backs: list[int]  # look-backs registered, to start
    progress: list[dict[str, Any]]  # per unit: items, closed, overdue, rate, estimated finish
    clue_ledger: list[dict[str, Any]]  # per receiving body: counts only
    clue_reminders: int
    common_reminders: int
    held_until: str  # a rest day: the working day the reminders go out on; empty on a working day
    calendar_warnings: list[str]
    undelivered: str = ""  # alerts that did not arrive: one line for the office, empty when none
    results_reminders: int = 0  # results letters (巡察成果运用) not signed for or not reported in time


@dataclass(frozen=True)
class OverallRate:
    progress: float  # 0–100, for a progress bar
    rate: str  # as shown, e.g. 62.5%
    items: int


@dataclass(frozen=True)
class RoundRate:
    id: int
    name: str
    rate: str
    progress: float


@dataclass(frozen=True)
class RoundStatistics:
    """The per-round table, the overall rectification rate and that of each round still running."""

    table: list[dict[str, Any]]
    overall: OverallRate
    rounds: list[RoundRate]
