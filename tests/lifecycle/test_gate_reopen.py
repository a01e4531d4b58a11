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
