"""What each run is called in the Runs list: the business it does and what it is about
(巡察轮次·<轮次>, 登记问题·<轮次>·<单位> …), never a generated name. The flows name themselves
with these at run time (flow_run_name) and the gateway names a run when it creates it, so the
list reads the same before a run starts. Names of rounds, units and letter numbers are not
confidential; nothing of a form's content goes into a name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def run_name(kind: str, round_name: str, unit_name: str) -> str:
    """What a person looks for in the Runs list: `单位巡察·<轮次>·<单位>` (names are not confidential)."""
    return f"{kind}·{round_name}·{unit_name}"[:200]


# Deployment name -> the kind word of its runs, for the forms that name a round and a unit.
BY_UNIT = {"登记问题": "登记问题", "报送整改方案": "报送整改方案", "报送整改进展": "报送整改进展"}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def start_run_name(deployment: str, parameters: dict[str, Any]) -> str | None:
    """The run's name for these parameters; None when the form does not say enough to name it."""
    inner: Any = parameters.get("params")
    if hasattr(inner, "model_dump"):  # at run time the flow's parameters are its models
        inner = inner.model_dump()
    params: dict[str, Any] = inner if isinstance(inner, dict) else {}
    if deployment == "发起巡察":
        name = _text(params.get("name"))
        return f"巡察轮次·{name}"[:200] if name else None
    if deployment in BY_UNIT:
        round_name, unit_name = _text(params.get("round_name")), _text(params.get("unit_name"))
        return run_name(BY_UNIT[deployment], round_name, unit_name) if round_name and unit_name else None
    if deployment == "签收线索移交函":
        letter = params.get("letter_id")
        return f"签收线索移交函·第{letter}号" if isinstance(letter, int) and not isinstance(letter, bool) else None
    if deployment == "共性问题归类":
        round_name, n = _text(parameters.get("round_name")), parameters.get("attempt")
        return run_name("共性问题归类", round_name, f"第{n}次" if n else "手动发起") if round_name else None
    return None


def named_as(deployment: str) -> Callable[[], str]:
    """A flow's `flow_run_name`: the name `start_run_name` gives its parameters at run time."""

    def name() -> str:
        from prefect.runtime import flow_run

        return start_run_name(deployment, dict(flow_run.parameters)) or deployment

    name.__name__ = f"run_name_{len(deployment)}"
    return name
