"""The scale-out set-up end to end: the Prefect server and the application data both on the
office's PostgreSQL server, two process workers on one pool. PostgreSQL is restarted while a round
is at work; the round completes and no row is lost.

The office's server here is a PostgreSQL cluster of the test's own (Debian's binaries, on a free
port, as deployments/ops/private_pg.py starts one), not the machine's shared one: restarting it
disturbs no other test, so this file runs beside the others (scripts/test.sh)."""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from deployments.ops.private_pg import USER, PrivatePostgres
from deployments.ops.stack import Stack, drop_postgres, free_port, postgres_env
from models.db import session_scope
from models.enums import RoundStatus, Stage
from models.settings import get_settings
from models.tables import Alert, AuditEvent, Document, Inspection, InspectionRound
from tests.e2e.test_lifecycle import inspections_of, start_round
from tests.support.driver import answer, pause_key, read, units_working, wait_for, wait_for_gate
from tests.support.stacks import exported, load_county_without_contacts

pytestmark = [pytest.mark.stack]


@pytest.fixture(scope="module")
def office_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    """The office's PostgreSQL server: a cluster of this test's own on a free port."""
    pg = PrivatePostgres(home=tmp_path_factory.mktemp("office-pg"), port=free_port())
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="module")
def pg_stack(tmp_path_factory: pytest.TempPathFactory, office_pg: PrivatePostgres) -> Iterator[Stack]:
    name = f"xuncha_scale_{os.getpid()}"
    server = f"postgresql://{USER}@127.0.0.1:{office_pg.port}"
    st = Stack(home=tmp_path_factory.mktemp("scale"), port=free_port(),
               extra_env=postgres_env(name, server) | {"XUNCHA_HOUSEKEEPING_SECONDS": "5"})
    # The session's stack (tests/conftest.py) points every recipient at its own inbox; this stack
    # has no receiver of its own, so its codes stay in its outbox, where the test reads them.
    try:
        with exported(st, without=("XUNCHA_RECIPIENTS",)):
            try:
                st.start_server()
                st.deploy()
                st.start_worker("worker-a")
                st.start_worker("worker-b")
                st.start_relay("relay-a")  # two relays share the outbox through its leases
                st.start_relay("relay-b")
                from tests.conftest import DEMO_ORG

                load_county_without_contacts(DEMO_ORG)
                yield st
            finally:
                st.stop()
    finally:
        drop_postgres(name, server)


def approve_plan(run_id: str) -> None:
    wait_for(run_id, paused=True, timeout=240)
    answer(run_id, decision="批准", comment="")
    units_working(run_id, timeout=240)  # the round run waits for its units (it ends when they are archived)


def test_round_survives_a_postgres_restart_with_two_workers(pg_stack: Stack, office_pg: PrivatePostgres) -> None:
    def restart_postgres() -> None:
        """As `pg_ctlcluster ... restart` does: a fast shutdown (connections cut), then start."""
        office_pg.stop()
        assert not office_pg.running()
        office_pg.start()

    assert get_settings().db_url.startswith("postgresql")
    name = f"扩展部署测试-{uuid.uuid4().hex[:6]}"
    approve_plan(start_round(name, [{"name": "第六巡察组", "leader": "周卫东", "members": ["罗敏"], "units": ["区审计局"]}]))
    (iid, run_id), = inspections_of(name).values()
    wait_for(run_id, paused=True, timeout=240)
    assert pause_key(run_id) == f"stationing-done-{iid}-1-0"

    answer(run_id, decision="进驻结束，提交巡察报告", comment="")
    time.sleep(1.5)  # the run is being picked up and starts its stages: pull the database from under it
    restart_postgres()
    for key, decision in ((f"report-{iid}-1-0", "通过"), (f"close-out-{iid}-1-0", "同意销号")):
        # A run whose process met the restart may exit and be reported Crashed: it is started again.
        wait_for_gate(run_id, timeout=420)
        assert pause_key(run_id) == key
        answer(run_id, decision=decision, comment="")
        if decision == "通过":
            restart_postgres()  # and once more while waiting at a gate
    deadline = time.monotonic() + 420
    while not (state := read(run_id).state).is_completed() and time.monotonic() < deadline:  # type: ignore[union-attr]
        assert not (state.is_failed() or state.is_cancelled()), state  # type: ignore[union-attr]
        time.sleep(1)
    assert read(run_id).state.is_completed()  # type: ignore[union-attr]

    with session_scope() as s:
        rnd = s.exec(select(InspectionRound).where(InspectionRound.name == name)).one()
        assert rnd.status == RoundStatus.DONE
        insp = s.get(Inspection, iid)
        assert insp is not None and insp.stage == Stage.ARCHIVED
        moves = [e.detail["to"] for e in s.exec(select(AuditEvent).where(
            AuditEvent.entity == "inspection", AuditEvent.entity_id == iid, AuditEvent.action == "阶段变更"))]
        assert moves == ["集中巡察", "报告巡察", "巡察反馈", "线索移交", "督促整改", "立卷归档", "已归档"]
        docs = Counter((d.kind, d.version) for d in s.exec(select(Document).where(Document.inspection_id == iid)))
        assert docs[("巡察报告", 1)] == 1 and docs[("巡察反馈意见", 1)] == 1 and max(docs.values()) == 1
        keys: Counter[Any] = Counter(a.dedupe_key + a.recipient for a in s.exec(select(Alert)))
        assert max(keys.values()) == 1
    from tasks.infra.audit import verify_trail

    with session_scope() as s:
        assert verify_trail(session=s) == []
