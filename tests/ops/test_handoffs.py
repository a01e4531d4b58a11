"""What a @task hands a flow is a typed value, never a dict: a frozen dataclass of models/handoffs.py
(or a plain value, a tuple of them). Prefect persists task results with its default serializer
(pickle: neither prefect.yaml nor the stack sets another), and a flow run that is resumed after a
suspension runs again from the top and reads its finished tasks' results back from that store,
so each hand-off must come back from it equal to what was stored."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

from models import handoffs
from models.enums import ApprovalStatus
from models.forms import CommonGroupIn

ROOT = Path(__file__).resolve().parents[2]


def _task_returns() -> dict[str, str]:
    """Every @task in flows/ and tasks/ with the annotation of what it returns."""
    out = {}
    for package in ("flows", "tasks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.FunctionDef):
                    continue
                for d in node.decorator_list:
                    f = d.func if isinstance(d, ast.Call) else d
                    if isinstance(f, ast.Name) and f.id == "task":
                        returns = ast.unparse(node.returns) if node.returns else ""
                        out[f"{path.relative_to(ROOT)}:{node.name}"] = returns
    return out


def test_no_task_hands_a_flow_a_dict() -> None:
    returns = _task_returns()
    # The walk finds the tasks (49 since the old four-task answer path went, #24).
    assert len(returns) > 40 and returns["tasks/lifecycle/prefect.py:settle_answer_task"] == "Settled"
    loose = {name: r for name, r in returns.items() if not r or "dict" in r or "Any" in r}
    assert loose == {}


def test_every_hand_off_is_frozen_and_comes_back_from_prefects_result_store_equal() -> None:
    from prefect.serializers import Serializer
    from prefect.settings import get_current_settings

    classes = [c for _, c in inspect.getmembers(handoffs, inspect.isclass)
               if dataclasses.is_dataclass(c) and c.__module__ == handoffs.__name__]
    assert all(c.__dataclass_params__.frozen for c in classes), [c.__name__ for c in classes]  # type: ignore[attr-defined]
    table = handoffs.Table.of([{"指标": "发现问题", "数值": 3}, {"指标": "整改到位率", "数值": "50.00%"}])
    samples = [
        handoffs.GateAsked(id=1, status=ApprovalStatus.DECIDED, decision="同意", approver="巡察办", comment=""),
        table,
        handoffs.PlanStep(label="第一轮·甲单位", due="2027年01月01日", returned="措施不具体", items=(
            handoffs.PlanStepItem(no="3", problem="问题", measure="—", owner="—", deadline="2027-01-01"),)),
        handoffs.LookBackBrief(team=["张三"], items=[handoffs.LookBackItem(id=1, desc="问题", status="已销号",
                                                                          deadline="2027-01-01")],
                               round_id=1, inspection_id=2, unit="甲单位", cause="整改到位率低", status="已启动"),
        handoffs.LookBackRecorded(checked=2, by_result={"已整改": 2}, new_findings=0),
        handoffs.CommonProposal(round_id=1, attempt=1, proposals=(CommonGroupIn(category="类", title="题", finding_ids=[1, 2]),),
                                notes=("题：甲单位、乙单位",), leaders=("吴志刚",), departments=("区民政局",)),
        handoffs.TermCoverage(term_id=1, term="第十四届", table=table, warnings=[], markdown="#", left=3),
        handoffs.TermProposal(error="", plan=(handoffs.RoundPlan(year=2027, number=1, unit_ids=(1, 2)),), markdown="#"),
        handoffs.SavedPlan(units=2, rounds=1, markdown="#"),
    ]
    serializer = Serializer(type=get_current_settings().results.default_serializer)
    for value in samples:
        assert serializer.loads(serializer.dumps(value)) == value
    assert table.records() == [{"指标": "发现问题", "数值": 3}, {"指标": "整改到位率", "数值": "50.00%"}]
    assert handoffs.Table.of([]).records() == []
