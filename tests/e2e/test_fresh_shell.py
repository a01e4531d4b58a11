"""A business command typed in a fresh shell (nothing exported but the data folder) reaches the
running stack: its Prefect API and the address staff open come from what the stack wrote into
the data folder (deployments/ops/stack.py RECORD, read by deployments/cli/reach.py), never from
a temporary Prefect server of its own."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from models.settings import PROJECT_ROOT, get_settings
from tasks.lifecycle.rounds import busy_people, busy_units
from tests.support.cli import login
from tests.support.driver import retire_round, wait_for
from tests.support.factories import round_data

pytestmark = pytest.mark.stack

XUNCHA = PROJECT_ROOT / ".venv" / "bin" / "xuncha"


def fresh_shell(home: Path, user_home: Path) -> dict[str, str]:
    """A new terminal's environment: the data folder named, nothing of the stack's exported."""
    return {"XUNCHA_HOME": str(home), "HOME": str(user_home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def xuncha(env: dict[str, str], *args: str, typed: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(XUNCHA), *args], env=env, cwd=PROJECT_ROOT, input=typed, capture_output=True,
                          text=True, timeout=300)


def test_start_round_in_a_fresh_shell_reaches_the_running_stack(stack: Any, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                request: pytest.FixtureRequest) -> None:
    from models.db import session_scope

    env = fresh_shell(stack.home, tmp_path)
    # Logged in as that terminal's user would be (~/.config/xuncha): through the real `login` here,
    # where the second factor's code is typed the moment it is made (a loaded machine can take
    # longer than a code lives to start a process).
    monkeypatch.setenv("XUNCHA_CLI_SESSION_DIR", str(tmp_path / ".config" / "xuncha"))
    get_settings.cache_clear()
    request.addfinalizer(get_settings.cache_clear)  # read again once the variable is put back
    login("陶文华")
    check = xuncha(env, "whoami")
    assert check.returncode == 0 and "陶文华" in check.stdout, check.stdout + check.stderr

    with session_scope() as s:
        taken = set(busy_units(s)) | set(busy_people(s))
    if {"李建国", "陈晓梅", "刘洋"} & taken:
        pytest.skip("the demo team is in another test's round")
    name = f"新终端发起-{uuid.uuid4().hex[:6]}"
    params = tmp_path / "轮次.yaml"
    units = [u for u in ("城东街道", "城西街道", "区财政局", "马岙村") if u not in taken][:1]
    params.write_text(yaml.safe_dump(round_data(name=name, units=units), allow_unicode=True), encoding="utf-8")

    started = xuncha(env, "start-round", str(params))
    out = started.stdout + started.stderr
    assert started.returncode == 0, out
    assert f"已发起：{name}" in out and f"{stack.ui_url}/runs/flow-run/" in out, out  # the stack's own gateway
    run_id = out.split("/runs/flow-run/", 1)[1].split()[0]
    run = wait_for(run_id, paused=True)  # the stack's server has the run, and its worker ran it to the first gate
    assert run.parameters["params"]["name"] == name
    retire_round(name)

