"""The scheduler's approval form and the monthly coverage check, on the real stack: the office
edits the proposal in the form, a bad edit is refused and asked again, the approved plan is
stored; a term that cannot be covered at its pace alerts the office and the leading group."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import pytest
from prefect.deployments import run_deployment
from sqlmodel import col, select

from models.clock import now
from models.db import session_scope
from models.tables import Alert, AuditEvent, PlannedUnit, Unit
from tasks.planning import term_plan
from tests.support.driver import answer, wait_for, wait_for_key

pytestmark = pytest.mark.stack


def test_the_office_edits_and_approves_the_schedule(stack: Any) -> None:
    # Years far ahead of the other tests' rounds, so nothing is covered yet and the proposal is known.
    name = f"测试任期-{os.getpid()}"
    as_of = date(2040, 1, 1)
    with session_scope() as s:
        term = term_plan.create_term(session=s, name=name, first_year=2040, last_year=2044, rounds_per_year=2,
                                     units_per_round=4, mix={"部门": 1}, actor="陶文华", now=now())
        tid = term.id or 0
    with session_scope() as s:
        plan = term_plan.propose(session=s, term_id=tid, as_of=as_of)
    first = [u.name for u in plan[0].units]
    moved = plan[-1].units[0].name
    run_id = str(run_deployment("全覆盖排程/全覆盖排程", parameters={"params": {"term": name, "as_of": str(as_of)}},
                                timeout=0).id)

    wait_for_key(run_id, f"term-plan-{tid}-1-0")
    answer(run_id, decision="按调整批准", edits="2040年第1轮：区不存在局")
    wait_for_key(run_id, f"term-plan-{tid}-1-1")  # refused, asked again
    answer(run_id, decision="按调整批准", edits=f"2040年第1轮：{'、'.join(first + [moved])}")
    fr = wait_for(run_id, final=True)
    assert fr.state is not None and fr.state.is_completed(), fr.state

    with session_scope() as s:
        rows = s.exec(select(Unit.name, PlannedUnit.year, PlannedUnit.number).join(Unit, col(Unit.id) == PlannedUnit.unit_id)
                      .where(PlannedUnit.term_id == tid)).all()
        assert len(rows) == 16 and len({n for n, _, _ in rows}) == 16
        assert sorted(n for n, y, r in rows if (y, r) == (2040, 1)) == sorted(first + [moved])
        refused = s.exec(select(AuditEvent.detail).where(AuditEvent.action == "审批被拒收")).all()
        assert any("未知的单位“区不存在局”" in str(d) for d in refused), refused
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "批准全覆盖排程", AuditEvent.entity_id == tid)).one()


def test_a_term_behind_its_pace_alerts_the_office(stack: Any) -> None:
    name = f"落后任期-{os.getpid()}"
    with session_scope() as s:
        term = term_plan.create_term(session=s, name=name, first_year=2050, last_year=2051, rounds_per_year=1,
                                     units_per_round=2, mix={}, actor="陶文华", now=now())
        tid = term.id or 0
    run_id = str(run_deployment("全覆盖进度/全覆盖进度", parameters={"term": name, "as_of": "2051-03-01"}, timeout=0).id)
    fr = wait_for(run_id, final=True)
    assert fr.state is not None and fr.state.is_completed(), fr.state
    with session_scope() as s:
        alerts = s.exec(select(Alert.role, Alert.body).where(col(Alert.dedupe_key).startswith(f"term:{tid}:pace:2051-03"))).all()
    assert {role for role, _ in alerts} == {"office", "leading_group"}
    assert all("差" in body and name in body for _, body in alerts), alerts
