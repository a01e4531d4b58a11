"""The public reporting page as `xuncha up` starts it: a process of its own on loopback, reaching
only the application database, stopped by `xuncha down`. (Moved here from
tests/clues/test_public_page.py, whose tests run the page in-process: a test that starts
processes belongs with the end-to-end tests.)"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlmodel import select

from deployments.ops.stack import Stack, free_port, port_open, stop_recorded
from models.db import session_scope
from models.enums import Stage
from models.tables import Inspection
from tests.support.public import unit_in_stationing_now


@pytest.fixture
def home(cli_home: Path) -> Path:
    """The CLI's home with the demo county, 城东街道 in 集中巡察 and 区教育局 still in 巡察准备
    (as tests/clues/test_public_page.py's `world`)."""
    unit_in_stationing_now()
    with session_scope() as s:
        waiting = s.exec(select(Inspection).where(Inspection.stage == Stage.PREPARATION)).first()
        assert waiting is not None and waiting.id is not None
    return cli_home


def test_the_stack_starts_it_on_its_own_port_and_down_stops_it(home: Path) -> None:
    """What `xuncha up` starts: the page as its own process on loopback, reaching only the
    application database; `xuncha down` (stop_recorded) stops it."""
    stack = Stack(home=home, port=free_port())
    port = free_port()
    try:
        url = stack.start_public(port)
        assert url == f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(url + "/", timeout=10) as r:
            assert "城东街道" in r.read().decode()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url + "/api/health", timeout=10)
        assert missing.value.code == 404
        assert "public" in stop_recorded(home)
        stack.procs["public"].wait(timeout=20)
        assert not port_open(port)
    finally:
        stack.stop()
