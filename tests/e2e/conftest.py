"""The stack every end-to-end file drives: exactly what `up` starts."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from deployments.ops.inbox import Inbox
from deployments.ops.stack import Stack, free_port
from tests.conftest import DEMO_ORG, ROOT
from tests.support.stacks import exported, load_county_without_contacts


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[Stack]:
    """A real Prefect server on a free port, the deployments of prefect.yaml and one worker.

    One per test process, for the end-to-end files (package scope): stopped when the process
    moves on past tests/e2e — the end-to-end files come first (tests/conftest.py) — so the
    in-process tests after them do not share the cores with an idle stack's polling.

    Every recipient of the demo county is pointed at the session's inbox, so the alerts the
    flows send travel over HTTP to a real receiver on 127.0.0.1.
    """
    home = tmp_path_factory.mktemp("stack")
    # As `up` does: the inbox keeps home/inbox.jsonl, where `xuncha inbox` and the tests read the
    # codes the receivers got (a sent alert keeps none: tests/support/factories.py sent_code).
    inbox.path = home / "inbox.jsonl"
    recipients = {role: [f"json://127.0.0.1:{inbox.port}/{role}"] for role in (
        "office", "leading_group", "team_leader", "unit_secretary", "liaison_leader",
        "discipline_commission", "organisation_department", "responsible_department", "functional_department",
        "leader_in_charge")}
    # Exactly what `up` runs: Prefect's data on the private PostgreSQL the stack starts under its
    # data folder (deployments/ops/private_pg.py), the application's on SQLite, one worker, the relay.
    st = Stack(home=home, port=free_port(), extra_env={
        "XUNCHA_RECIPIENTS": json.dumps(recipients),
        # tests/e2e/test_restart.py kills the worker while 集中巡察 of 马岙村 is in the middle of its work.
        "XUNCHA_FAULT_HOLD": "集中巡察:马岙村:600",
        # ... through the test plumbing's fault hook (tests/support/faults.py), loaded at start-up.
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "tests" / "support" / "inject"), str(ROOT),
                                                  os.environ.get("PYTHONPATH", "")) if p),
        "XUNCHA_ZOMBIE_SECONDS": "60",  # the shortest the settings allow (two heartbeats), not the 5-minute default
        "XUNCHA_HOUSEKEEPING_SECONDS": "5",  # the relay reminds, starts and recovers every 5 s
        # The tests pose as browsers behind an HTTPS front on loopback (X-Forwarded-For believed from
        # 127.0.0.1 only); the gateway's waits start at 1 s and five failures lock, so the attacker
        # tests (tests/e2e/test_gateway_stack.py, test_browser.py) run in seconds.
        "XUNCHA_TRUSTED_PROXIES": '["127.0.0.1"]',
        "XUNCHA_LOGIN_DELAY_SECONDS": "1",
        "XUNCHA_LOGIN_MAX_FAILURES": "5",
    })
    with exported(st):
        try:
            st.start_server()
            st.deploy()
            st.start_worker()
            st.start_relay()
            load_county_without_contacts(DEMO_ORG)  # every alert to the role inbox above
            yield st
        finally:
            st.stop()
