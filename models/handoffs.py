"""What the thin @task wrappers hand to the flows, typed so mypy sees the contract (as
InspectionState in models/transitions.py does for the unit flow): record IDs, counts, names and
Chinese-labelled rows of counts only, never confidential text (clues, informants, talk records).

Frozen dataclasses at module level: Prefect persists task results with its default serializer
(pickle; neither prefect.yaml nor the stack sets another), and a run resumed after a suspension
runs again from the top and gets its finished STAGE tasks' results back from that store (Cached),
unpickled by this module's class names — so rename or move a class only with care. A task whose
source changes gets a new cache key, so a run suspended before such a change runs the task again
on resume (the tasks are idempotent) instead of reading an older shape. tests/ops/test_handoffs.py
checks that no @task returns a dict and that each class comes back from the serializer equal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.enums import ApprovalStatus
from models.forms import CommonGroupIn


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


@dataclass(frozen=True)
class Table:
    """Rows for create_table_artifact: Chinese column titles and one tuple of values per row
    (counts, names and dates only)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    @classmethod
    def of(cls, records: list[dict[str, Any]]) -> Table:
        columns = tuple(records[0]) if records else ()
        return cls(columns=columns, rows=tuple(tuple(r[c] for c in columns) for r in records))

    def records(self) -> list[dict[str, Any]]:
        """The rows as create_table_artifact takes them."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class PlanStepItem:
    """An open rectification item as the plan step lists it (one line each, as submitted so far)."""

    no: str  # the item's number (编号)
    problem: str
    measure: str  # "—" before a plan is in
    owner: str
    deadline: str


@dataclass(frozen=True)
class PlanStep:
    """What the unit run's plan step shows: the deadline, the items, the plan as submitted and
    the last reason it was sent back. Finding descriptions only; nothing confidential."""

    label: str
    due: str
    items: tuple[PlanStepItem, ...]
    returned: str = ""


@dataclass(frozen=True)
class LookBackItem:
    """A rectification item the look-back team verifies."""

    id: int
    desc: str  # the finding's description (not confidential: it is in the inspection report)
    status: str
    deadline: str


@dataclass(frozen=True)
class LookBackBrief:
    """A look-back as its flow asks the team: who verifies what, for which unit and why."""

    team: list[str]
    items: list[LookBackItem]
    round_id: int
    inspection_id: int
    unit: str
    cause: str
    status: str


@dataclass(frozen=True)
class LookBackRecorded:
    """A look-back's results as stored: items verified, per check result, new findings."""

    checked: int
    by_result: dict[str, int]  # check result (已整改, 部分整改 …) -> items; empty when stored by an earlier run
    new_findings: int


@dataclass(frozen=True)
class CommonProposal:
    """The common-problem grouping a run works on: its proposals as the form's rows, or why there is
    nothing to confirm (another run holds it, or it waits for reports)."""

    round_id: int
    attempt: int = 0
    busy: str = ""  # the link to the run that holds the grouping
    waiting: str = ""  # why there is no grouping yet
    proposals: tuple[CommonGroupIn, ...] = ()  # the form's rows, leaders prefilled
    notes: tuple[str, ...] = ()  # one line per proposal
    leaders: tuple[str, ...] = ()  # the form's choices
    departments: tuple[str, ...] = ()


@dataclass(frozen=True)
class TermCoverage:
    """A term's coverage (全覆盖) for the plan flows: its table, pace warnings and summary."""

    term_id: int
    term: str
    table: Table  # by unit kind: 单位类型, 单位总数, 已巡察, 已排入计划, 尚未安排, 覆盖率
    warnings: list[str]
    markdown: str
    left: int  # units not yet inspected


@dataclass(frozen=True)
class RoundPlan:
    """One planned round as ids, so a flow carries a proposal between tasks."""

    year: int
    number: int
    unit_ids: tuple[int, ...]


@dataclass(frozen=True)
class TermProposal:
    """The scheduler's proposal, or the reason there is none (e.g. too little capacity)."""

    error: str
    plan: tuple[RoundPlan, ...] = ()
    markdown: str = ""


@dataclass(frozen=True)
class SavedPlan:
    units: int
    rounds: int
    markdown: str
