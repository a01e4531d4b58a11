"""A refused answer re-opens the form with what was entered, not the first proposal: with 20
groups one typo does not mean typing every leader and department again (flows/lifecycle/gates.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import flows.lifecycle.gates as gates
from models.enums import Gate
from models.forms import common_form
from tasks.lifecycle.answers import AnswerCheck, AnswerFields, CheckOn, Settled

PROPOSED = [{"category": "选人用人", "title": "干部档案管理不规范", "leader_in_charge": "吴志刚", "departments": [],
             "finding_ids": [1, 2]}]


def test_a_refused_answer_reopens_with_what_was_entered(monkeypatch: pytest.MonkeyPatch) -> None:
    form = common_form(["吴志刚", "郑文斌"], ["区民政局", "区财政局"])
    entered = [PROPOSED[0] | {"leader_in_charge": "郑文斌", "departments": ["区财政局"], "finding_ids": [1, 2, 3]}]
    answers = [form.model_validate({"decision": "确认归类", "groups": entered}),
               form.model_validate({"decision": "确认归类", "groups": entered})]
    asked: list[tuple[str, Any]] = []

    def suspend(*, wait_for_input: Any, key: str) -> Any:
        asked.append((key, wait_for_input))
        return answers.pop(0)

    monkeypatch.setattr(gates, "suspend_flow_run", suspend)
    monkeypatch.setattr(gates, "open_gate_task", lambda *a: SimpleNamespace(id=9, decided=False))
    verdicts = iter(["第1组：问题编号3不存在", ""])
    settled: list[tuple[Any, ...]] = []

    def settle(approval_id: int, key: str, try_no: int, fields: AnswerFields, check: AnswerCheck, on: CheckOn) -> Settled:
        settled.append((key, try_no, check, [g.leader_in_charge for g in fields.groups]))
        return Settled(approver="巡察办张主任", error=next(verdicts), label="归类")

    monkeypatch.setattr(gates, "settle_answer_task", settle)
    answer = gates.await_gate(form, gate=Gate.COMMON, round_id=1, inspection_id=None, attempt=1, description="## 归类",
                              initial={"groups": PROPOSED}, validate=gates.InTask(AnswerCheck.COMMON))
    assert answer.groups[0].leader_in_charge == "郑文斌"
    (k1, first), (k2, second) = asked
    assert (k1, k2) == ("common-0-1-0", "common-0-1-1")
    assert first.model_fields["groups"].default == PROPOSED
    # Asked again: prefilled with the refused answer, the refusal said above the form.
    assert second.model_fields["groups"].default == entered
    assert "问题编号3不存在" in str(second._description)
    # Each answer settled in the one task, the grouping's check in it, the rows entered passed on.
    assert settled == [("common-0-1-0", 0, AnswerCheck.COMMON, ["郑文斌"]), ("common-0-1-1", 1, AnswerCheck.COMMON, ["郑文斌"])]
    assert answer.approver == "巡察办张主任"


@pytest.mark.parametrize(("spent", "opened_times"), [(set(), 1), ({"report-5-1-0"}, 0)], ids=["asked-anew", "resumed"])
def test_a_run_resumed_with_its_answer_does_not_open_the_gate_again(
        monkeypatch: pytest.MonkeyPatch, spent: set[str], opened_times: int) -> None:
    """Resumed past its pause (Prefect keeps the spent pause keys on the run), the run settles the
    stored answer straight away: no second 发起审批 task, no re-read of the form's text (#24: one
    answer, one step). The one-step task finds the approval by the gate's reference itself."""
    from models.forms import ReportReview

    opened: list[tuple[Any, ...]] = []
    monkeypatch.setattr(gates, "open_gate_task",
                        lambda *a: (opened.append(a), SimpleNamespace(id=9, decided=False, text="## 报告"))[1])
    keys: list[str] = []

    def suspend(*, wait_for_input: Any, key: str) -> Any:
        keys.append(key)
        return ReportReview(decision="通过", approver="王书记", code="", comment="")

    monkeypatch.setattr(gates, "suspend_flow_run", suspend)
    settled: list[tuple[Any, str]] = []
    monkeypatch.setattr(gates, "settle_answer_task", lambda ref, key, *a: (settled.append((ref, key)),
                                                                            Settled(approver="王书记", error="", label=""))[1])
    run = SimpleNamespace(flow_run=SimpleNamespace(empirical_policy=SimpleNamespace(pause_keys=spent)))
    monkeypatch.setattr(gates, "FlowRunContext", SimpleNamespace(get=lambda: run))
    answer = gates.await_gate(ReportReview, gate=Gate.REPORT, round_id=1, inspection_id=5, attempt=1)
    assert answer.approved and len(opened) == opened_times and keys == ["report-5-1-0"]
    assert settled == [(gates.GateRef(gate=Gate.REPORT, attempt=1, round_id=1, inspection_id=5), "report-5-1-0")]
