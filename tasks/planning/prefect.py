"""Prefect tasks of the term plan (全覆盖): coverage, the scheduler's proposal, its approval.
They pass ids, counts and unit names only (nothing confidential is involved)."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task
from prefect.runtime import flow_run
from sqlmodel import select

from models.clock import now
from models.db import session_scope
from models.enums import Gate, Role
from models.errors import DomainError
from models.handoffs import RoundPlan, SavedPlan, Table, TermCoverage, TermProposal
from models.settings import get_settings
from models.tables import Approval, TermPlan
from tasks.infra.alerts import enqueue_alert
from tasks.lifecycle.prefect import READ, STAGE
from tasks.planning import term_plan


def today() -> date:
    return now().date()


@task(name="全覆盖情况", **READ)
def coverage_task(term: str | int, as_of: date) -> TermCoverage:
    with session_scope() as s:
        t = term_plan.get_term(s, term)
        assert t.id is not None
        cov = term_plan.coverage(session=s, term_id=t.id, as_of=as_of)
        return TermCoverage(term_id=t.id, term=t.name, table=Table.of(cov.rows), warnings=list(cov.warnings),
                            markdown=term_plan.coverage_markdown(cov), left=cov.total - cov.covered)


@task(name="全覆盖进度预警", **STAGE)
def warn_pace_task(term_id: int, as_of: date, warnings: list[str]) -> int:
    """Tell the office and the leading group once a month when the pace will not cover the term."""
    if not warnings:
        return 0
    settings = get_settings()
    with session_scope() as s:
        t = s.get(TermPlan, term_id)
        assert t is not None
        body = f"{t.name}：\n" + "\n".join(warnings) + "\n请调整全覆盖排程（部署“全覆盖排程”）。"
        n = 0
        for role in (Role.OFFICE, Role.LEADING_GROUP):
            n += len(enqueue_alert(session=s, settings=settings, key=f"term:{term_id}:pace:{as_of:%Y-%m}:{role.value}",
                                   role=role, title="【全覆盖进度预警】", body=body,
                                   link=settings.run_link(flow_run.get_id()), now=now()))
        return n


@task(name="提出排程", **STAGE)
def propose_task(term_id: int, as_of: date) -> TermProposal:
    """The proposal as unit ids per round, or the reason there is none (e.g. too little capacity)."""
    with session_scope() as s:
        try:
            plan = term_plan.propose(session=s, term_id=term_id, as_of=as_of)
        except DomainError as exc:
            return TermProposal(error=str(exc))
        return TermProposal(error="", plan=term_plan.plan_to_records(plan), markdown=term_plan.plan_markdown(plan))


@task(name="排程审批次数", **STAGE)
def next_attempt_task(term_id: int) -> int:
    with session_scope() as s:
        asked = s.exec(select(Approval.id).where(Approval.term_id == term_id, Approval.gate == Gate.TERM_PLAN)).all()
        return len(asked) + 1


def _edited(s: Any, term_id: int, plan: tuple[RoundPlan, ...], edits: str) -> list[Any]:
    return term_plan.apply_edits(session=s, term_id=term_id, plan=term_plan.plan_from_records(s, plan), edits=edits)


@task(name="保存排程", **STAGE)
def save_plan_task(term_id: int, plan: tuple[RoundPlan, ...], edits: str, approver: str) -> SavedPlan:
    with session_scope() as s:
        final = _edited(s, term_id, plan, edits)
        n = term_plan.save_plan(session=s, term_id=term_id, plan=final, actor=approver, now=now())
        return SavedPlan(units=n, rounds=len(final), markdown=term_plan.plan_markdown(final))
