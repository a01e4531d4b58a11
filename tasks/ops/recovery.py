"""Crashed runs are started again. Prefect never retries a crashed flow run (its process or
machine died); the relay (deployments/ops/relay.py) marks a silent Running run Crashed and this
decides, run by run, whether to schedule it again. The flows are re-entrant: started again from
the top, they skip what the database says is done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlmodel import Session, select

from models.db import table_of
from models.enums import Role
from models.settings import Settings
from models.tables import RunRecovery
from tasks.infra.alerts import enqueue_alert
from tasks.infra.audit import record_event


@dataclass(frozen=True)
class CrashedRun:
    id: str
    name: str
    deployment: str


def is_silent(*, state_since: datetime, last_heartbeat: datetime | None, now: datetime, window: timedelta) -> bool:
    """A Running run shows no sign of life: neither its state nor a heartbeat is newer than
    `window`. Only Running runs are asked: a waiting (Paused, Suspended) or Scheduled run has no
    process to beat, and is never taken for a lost one."""
    latest = max(state_since, last_heartbeat) if last_heartbeat else state_since
    return now - latest > window


# The run's row, made if absent without failing when another relay makes it at the same moment.
_ENSURE = text("INSERT INTO run_recovery (flow_run_id, flow_run_name, attempts, last_at, gave_up) "
               "VALUES (:id, :name, 0, :now, :no) ON CONFLICT (flow_run_id) DO NOTHING").bindparams(
    bindparam("now", type_=table_of(RunRecovery).c.last_at.type),
    bindparam("no", type_=table_of(RunRecovery).c.gave_up.type))


def _claim(session: Session, run: CrashedRun, now: datetime) -> RunRecovery | None:
    """The run's recovery row, locked for this transaction; None while another relay holds it
    (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite's writers are serial)."""
    session.execute(_ENSURE, {"id": run.id, "name": run.name[:200], "now": now, "no": False})
    return session.exec(select(RunRecovery).where(RunRecovery.flow_run_id == run.id)
                        .with_for_update(skip_locked=True).execution_options(populate_existing=True)).first()


def plan_recoveries(*, session: Session, settings: Settings, crashed: list[CrashedRun], now: datetime,
                    still_crashed: Callable[[CrashedRun], bool] | None = None,
                    reschedule: Callable[[CrashedRun, int], None] | None = None) -> list[tuple[CrashedRun, int]]:
    """Which crashed runs to schedule again, with the attempt number (each run at most
    settings.max_recoveries times); the office is told once about a run that keeps crashing,
    which is then left for a person.

    Several relays may see the same crash. Each run's row is locked first; `still_crashed` then
    reads the run's state again under the lock and `reschedule` acts before the lock is released
    (the caller commits), so a run is recovered once per crash: a relay that gets the row after
    another finds the run no longer crashed, and one that finds it locked skips it."""
    again: list[tuple[CrashedRun, int]] = []
    for run in crashed:
        rec = _claim(session, run, now)
        if rec is None or rec.gave_up:
            continue
        if still_crashed is not None and not still_crashed(run):
            continue
        if rec.attempts >= settings.max_recoveries:
            rec.gave_up = True
            enqueue_alert(session=session, settings=settings, key=f"recovery:{run.id}:gave-up", role=Role.OFFICE,
                          title="【运行中断】需人工处理",
                          body=f"流程运行“{run.name}”（{run.deployment}）已中断{rec.attempts + 1}次，自动恢复已停止，请检查执行器日志后手工重新运行。",
                          link=settings.run_link(run.id), now=now)
            record_event(session=session, actor="系统", action="停止自动恢复", entity="flow_run", entity_id=None, now=now,
                         detail={"flow_run": run.id, "attempts": rec.attempts})
        else:
            rec.attempts += 1
            rec.last_at = now
            if reschedule is not None:
                reschedule(run, rec.attempts)
            again.append((run, rec.attempts))
            record_event(session=session, actor="系统", action="恢复中断运行", entity="flow_run", entity_id=None, now=now,
                         detail={"flow_run": run.id, "attempt": rec.attempts})
        session.add(rec)
    session.flush()
    return again
