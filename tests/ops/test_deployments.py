"""Every deployment in prefect.yaml loads its flow, and its default parameters are valid for it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint

from models.settings import PROJECT_ROOT

DEPLOYMENTS: list[dict[str, Any]] = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]


@pytest.mark.parametrize("dep", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_deployment_loads_with_valid_defaults(dep: dict[str, Any]) -> None:
    flow = load_flow_from_entrypoint(str(PROJECT_ROOT / dep["entrypoint"]))
    assert flow.description, f"{dep['name']}: the flow needs a Chinese docstring (the UI shows it)"
    if dep.get("parameters"):  # the others are filled in by the person starting them
        flow.validate_parameters(dep["parameters"])
    assert dep["description"] and dep["work_pool"]["name"] == "xuncha-process"
