"""The operator's backup drill on the stack `up` starts (a stack of its own: its data folder is
destroyed). One round waits at 方案及组成人员审批; another, its plan approved, has a unit waiting at
the end of 集中巡察 with a petition naming its informant. The data folder's owner backs up (keys
to a folder of their own), the stack is stopped, the data folder destroyed and restored, the stack
started again: both waiting gates are answered and their runs go on, the audit trail verifies and
the office reads the informant again."""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from deployments.ops.inbox import Inbox
from deployments.ops.stack import Stack, free_port
from models.clock import now
from models.db import get_engine, session_scope
from models.settings import get_settings
from models.tables import Inspection
from tasks.clues.ledger import add_petition, read_petition
from tests.conftest import DEMO_ORG
from tests.e2e.test_lifecycle import inspections_of, start_round
from tests.support.accounts import ready_account
from tests.support.cli import login
from tests.support.driver import (
    answer,
    pause_key,
    units_working,
    wait_for,
    wait_for_gate,
    wait_for_key,
)
from tests.support.stacks import exported, load_county_without_contacts

pytestmark = pytest.mark.stack

ROLES = ("office", "leading_group", "team_leader", "unit_secretary", "liaison_leader", "discipline_commission",
         "organisation_department", "responsible_department", "functional_department", "leader_in_charge")
PRIVATE_URL = "PREFECT_API_DATABASE_CONNECTION_URL"
INFORMANT = "举报人-演练-7F3A"


@pytest.fixture
def drill_stack(tmp_path: Path, inbox: Inbox) -> Iterator[Stack]:
    """A stack like the session's (tests/conftest.py `stack`): private PostgreSQL, server, gateway,
    deployments, one worker, the relay; every alert to the session's inbox."""
    home = tmp_path / "数据目录"
    saved = inbox.path
    inbox.path = home / "inbox.jsonl"  # as `up` does: restored with the data folder
    st = Stack(home=home, port=free_port(), extra_env={
        "XUNCHA_RECIPIENTS": json.dumps({r: [f"json://127.0.0.1:{inbox.port}/{r}"] for r in ROLES}),
        "XUNCHA_HOUSEKEEPING_SECONDS": "5"})
    with exported(st):
        try:
            start(st)
            load_county_without_contacts(DEMO_ORG)
            yield st
        finally:
            st.stop()
            inbox.path = saved


def start(st: Stack) -> None:
    st.start_server()
    # The server keeps the private PostgreSQL's address; the operator's shell (where `backup` and
    # `restore` run) has none, and a second start picks a new port.
    st.extra_env.pop(PRIVATE_URL, None)
    st.deploy()
    st.start_worker()
    st.start_relay()


def xuncha(st: Stack, *args: str) -> str:
    result = st.run([str(Path(sys.executable).parent / "xuncha"), *args], check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def reopen() -> None:
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


# The stack is started twice (before the backup, after the restore), each start registering the
# deployments again, as `up` does: more than the 600 s default on this shared 2-core machine.
@pytest.mark.timeout(900)
def test_backup_destroy_restore_answer(drill_stack: Stack, tmp_path: Path) -> None:
    st = drill_stack
    tag = uuid.uuid4().hex[:6]
    stationed, planned = f"备份演练甲-{tag}", f"备份演练乙-{tag}"
    first = start_round(stationed, [{"name": "第三巡察组", "leader": "孙丽娟", "members": ["罗敏"], "units": ["区卫生健康局"]}])
    second = start_round(planned, [{"name": "第四巡察组", "leader": "李建国", "members": ["高峰"], "units": ["马岙村"]}])
    wait_for(first, paused=True)
    answer(first, decision="批准", comment="同意")  # 张明 (领导小组) with the code sent to him
    units_working(first)  # the round run waits for its units (it ends when they are archived)
    (iid, unit_run), = inspections_of(stationed).values()
    wait_for_gate(unit_run)
    assert pause_key(unit_run) == f"stationing-done-{iid}-1-0"
    wait_for(second, paused=True)
    assert pause_key(second) == "plan-0-1-0"
    with session_scope() as s:
        petition = add_petition(session=s, settings=get_settings(), by="陶文华", inspection_id=iid, channel="来信",
                                content="反映卫生院采购问题", informant_name=INFORMANT, informant_contact="139-0000-7777",
                                now=now())
        petition_id = petition.id or 0

    data, keys = tmp_path / "备份" / "数据", tmp_path / "U盘" / "密钥"
    out = xuncha(st, "backup", str(data), "--keys", str(keys), "--operator")
    assert "已备份到" in out and "密钥已备份到" in out, out
    st.stop()
    reopen()
    shutil.rmtree(st.home)
    assert not st.home.exists()

    out = xuncha(st, "restore", str(data), "--keys", str(keys))
    assert "已恢复到" in out and "审计日志已接续" in out, out
    reopen()
    st.procs.clear()
    start(st)

    # Both waiting gates are answered (together: each run goes on in a process of its own). The
    # round waiting at its plan gate starts its unit; the unit waiting at the end of 集中巡察
    # reaches its report gate.
    assert pause_key(second) == "plan-0-1-0"
    assert pause_key(unit_run) == f"stationing-done-{iid}-1-0"
    answer(second, decision="批准", comment="同意")
    answer(unit_run, decision="进驻结束，提交巡察报告", comment="")
    units_working(second, timeout=240)
    (iid2, unit_run2), = inspections_of(planned).values()
    assert unit_run2 and iid2 != iid
    wait_for(unit_run, paused=True, timeout=240)
    wait_for_key(unit_run, f"report-{iid}-1-0", timeout=240)
    with session_scope() as s:
        assert s.exec(select(Inspection.stage).where(Inspection.id == iid)).one() == "报告巡察"

    ready_account("陶文华")
    login("陶文华")
    from deployments.cli.main import app

    result = CliRunner().invoke(app, ["verify-audit"])
    assert result.exit_code == 0 and result.output.startswith("审计日志完整"), result.output
    with session_scope() as s:
        shown: dict[str, Any] = read_petition(session=s, settings=get_settings(), by="陶文华", petition_id=petition_id,
                                              informant=True, now=now())
    assert shown["举报人"] == INFORMANT and shown["联系方式"] == "139-0000-7777"
