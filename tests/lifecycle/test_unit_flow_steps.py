"""The unit flow's loop (flows/lifecycle/inspect_unit.py) in-process, its tasks and gates replaced
by a scripted inspection: it does what next_step says, in the lifecycle order, with the same gate
attempts and wait keys as before the loop asked next_step (checked call for call against the
if/while chain it replaced). The real tasks and gates on a Prefect stack: tests/e2e/test_lifecycle.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import flows.lifecycle.inspect_unit as iu
from models.enums import Gate, Stage
from models.handoffs import PlanStep, Table
from models.transitions import InspectionState


class Script:
    """A fake inspection the replaced tasks move as the real ones do; `answers`: each gate's decisions in turn."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, stage: Stage, answers: dict[Gate, list[bool]],
                 **fields: Any) -> None:
        self.d: dict[str, Any] = {"stage": stage, "search_count": 1, "pending_clues": 1, "findings": 2,
                                  "open_items": 2, "plan_submitted": False, "plan_approved": False} | fields
        self.answers, self.log, self.reads = answers, list[tuple[Any, ...]](), 0
        d, log = self.d, self.log

        def now() -> InspectionState:
            return InspectionState(round_id=7, label="第一轮·甲单位", **d)

        def read(_: int) -> InspectionState:
            self.reads += 1
            return now()

        def moving(name: str, to: Stage | None = None, **changes: Any) -> Any:
            def task(*args: Any) -> InspectionState:
                log.append((name, *args[1:]))
                d.update(changes)
                if to is not None:
                    d["stage"] = to
                return now()  # a stage task returns the state after its work, as the real ones do
            return task

        def review(_: int, n: int, approved: bool, comment: str) -> InspectionState:
            log.append(("review", n, approved))
            d.update(stage=Stage.FEEDBACK) if approved else d.update(stage=Stage.STATIONING, search_count=n + 1)
            return now()

        def review_plan(_: int, attempt: int, approved: bool, comment: str) -> InspectionState:
            log.append(("review plan", attempt, approved))
            d.update(plan_approved=True) if approved else d.update(plan_submitted=False)
            return now()

        def close_out(_: int, attempt: int, approved: bool, comment: str) -> InspectionState:
            log.append(("close out", attempt, approved))
            # Approved: closed and archived; refused: the items wait to be reported done again.
            d.update(stage=Stage.ARCHIVING, open_items=0) if approved else d.update(items_to_close=0)
            return now()

        def gate(form: Any, *, gate: Gate, attempt: int, validate: Any = None, **_: Any) -> Any:
            queue = self.answers.get(gate, [])
            log.append(("gate", gate, attempt))
            return SimpleNamespace(approved=queue.pop(0) if queue else True, approver="张组长", comment="意见")

        def wait(ready: Any, *, key: str, description: str) -> None:
            log.append(("wait", key))
            if key.startswith("awaiting-closeout-"):
                d["items_to_close"] = 1  # the unit reports an item done
            else:
                d["plan_submitted"] = True  # the unit submits its plan

        replaced: dict[str, Any] = {
            "read_inspection": read,
            "stationing_task": moving("stationing", Stage.STATIONING),
            "reporting_task": moving("reporting", Stage.REPORTING),
            "review_task": review,
            "start_common_grouping_task": lambda r, return_state: (log.append(("grouping",)),
                                                                   SimpleNamespace(is_completed=lambda: True))[1],
            "feedback_task": moving("feedback", Stage.CLUE_TRANSFER),
            "clue_transfer_task": moving("clue transfer", Stage.RECTIFICATION, pending_clues=0),
            "rectification_task": moving("rectification"),
            "plan_step_task": lambda _: PlanStep(label="第一轮·甲单位", due="", items=()),
            "review_plan_task": review_plan, "close_out_task": close_out,
            "archiving_task": moving("archiving", Stage.ARCHIVED),
            "await_gate": gate, "await_condition": wait,
            "unit_figures_task": lambda _: Table(columns=(), rows=()), "create_table_artifact": lambda **_: log.append(("figures",)),
            "publish_round_units_task": lambda _: None, "wake_round_task": lambda _: False,
            "get_run_logger": lambda: SimpleNamespace(info=lambda *a: None, warning=lambda *a: None),
        }
        for name, fake in replaced.items():
            monkeypatch.setattr(iu, name, fake)

    def run(self) -> str:
        return iu.inspect_unit.fn(5)


def test_a_unit_from_preparation_to_archived(monkeypatch: pytest.MonkeyPatch) -> None:
    """A report returned once, clues to approve, a plan returned once, a close-out refused once."""
    script = Script(monkeypatch, Stage.PREPARATION,
                    {Gate.REPORT: [False, True], Gate.RECT_PLAN: [False, True], Gate.CLOSE_OUT: [False, True]})
    assert script.run() == Stage.ARCHIVED.value
    assert script.log == [
        ("stationing",),
        ("gate", Gate.STATIONING_DONE, 1), ("reporting", 1, "张组长", "意见"), ("gate", Gate.REPORT, 1), ("review", 1, False),
        ("gate", Gate.STATIONING_DONE, 2), ("reporting", 2, "张组长", "意见"), ("gate", Gate.REPORT, 2), ("review", 2, True),
        ("grouping",), ("feedback",),
        ("gate", Gate.CLUE_TRANSFER, 1), ("clue transfer", True),
        ("rectification",),
        ("wait", "awaiting-plan-5-1"), ("gate", Gate.RECT_PLAN, 1), ("review plan", 1, False),
        ("wait", "awaiting-plan-5-2"), ("gate", Gate.RECT_PLAN, 2), ("review plan", 2, True),
        ("wait", "awaiting-closeout-5-1"), ("gate", Gate.CLOSE_OUT, 1), ("close out", 1, False),
        ("wait", "awaiting-closeout-5-2"), ("gate", Gate.CLOSE_OUT, 2), ("close out", 2, True),
        ("archiving",), ("figures",),
    ]
    # The state is read once at the start and once after each wait; each stage task hands back the
    # state after its work, so no read follows it (#24: one read per pass).
    assert script.reads == 1 + sum(1 for entry in script.log if entry[0] == "wait")


@pytest.mark.parametrize(("stage", "fields", "expected"), [
    (Stage.CLUE_TRANSFER, {"pending_clues": 0},  # nothing to approve: no gate
     [("grouping",), ("clue transfer", True), ("rectification",)]),
    (Stage.RECTIFICATION, {"plan_submitted": True},  # started again with a plan in: its review first
     [("grouping",), ("rectification",), ("gate", Gate.RECT_PLAN, 1), ("review plan", 1, True)]),
    (Stage.RECTIFICATION, {"open_items": 0}, [("grouping",), ("rectification",)]),  # nothing to plan
    (Stage.ARCHIVED, {}, [("grouping",)]),
], ids=["clue-transfer-without-clues", "rectification-with-a-plan", "rectification-nothing-to-plan", "archived"])
def test_a_pass_started_again_skips_what_is_done(monkeypatch: pytest.MonkeyPatch, stage: Stage, fields: dict[str, Any],
                                                 expected: list[tuple[Any, ...]]) -> None:
    script = Script(monkeypatch, stage, {}, **fields)
    assert script.run() == Stage.ARCHIVED.value
    assert script.log[:len(expected)] == expected
    assert script.log.count(("grouping",)) == 1 and script.log.count(("rectification",)) <= 1


def test_the_report_gate_checks_indicator_coverage_per_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """巡察组提交报告 takes an answer only past the coverage check (tasks/stationing/indicators.py), for
    the search it belongs to: a report returned once is asked, and checked, again as the second search
    (the gate's attempt, which settle_answer reads as the search count: tests/lifecycle/test_gate_checks.py).
    同意销号 is asked with its own check, the unit's common findings led first."""
    from flows.lifecycle.gates import InTask
    from tasks.lifecycle.answers import AnswerCheck

    script = Script(monkeypatch, Stage.STATIONING, {Gate.REPORT: [False, True]})
    scripted, checked = iu.await_gate, list[tuple[Any, ...]]()

    def gate(form: Any, *, gate: Gate, attempt: int, validate: Any = None, **kw: Any) -> Any:
        checked.append((gate, attempt, validate))
        return scripted(form, gate=gate, attempt=attempt, validate=validate, **kw)

    monkeypatch.setattr(iu, "await_gate", gate)
    script.run()
    coverage = InTask(AnswerCheck.COVERAGE)
    assert [c for c in checked if c[0] is Gate.STATIONING_DONE] == [(Gate.STATIONING_DONE, 1, coverage),
                                                                     (Gate.STATIONING_DONE, 2, coverage)]
    assert [c for c in checked if c[0] is Gate.CLOSE_OUT] == [(Gate.CLOSE_OUT, 1, InTask(AnswerCheck.CLOSE_OUT))]
    # The other gates have no check of their own.
    assert {c[2] for c in checked if c[0] not in (Gate.STATIONING_DONE, Gate.CLOSE_OUT)} == {None}
