"""Prefect tasks over tasks/records/statistics.py for the artifacts of the flows that produce the figures.

They return Chinese-labelled rows of counts only (no clue text, no names of people handled), ready
for create_table_artifact / create_progress_artifact in the flow.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from sqlmodel import Session, col, select

from models.db import get_or_raise, session_scope
from models.enums import RoundStatus
from models.handoffs import OverallRate, RoundRate, RoundStatistics, Table
from models.tables import Inspection, InspectionRound
from tasks.lifecycle.prefect import READ
from tasks.records.statistics import (
    MEASURES,
    labelled,
    rate_value,
    statistics,
    totals,
    unit_figures,
)


def unit_figure_rows(*, session: Session, inspection_id: int) -> list[dict[str, Any]]:
    """One unit's figures in one round as rows of 指标 / 数值."""
    insp = get_or_raise(session, Inspection, inspection_id, "巡察任务")
    (row,) = unit_figures(session=session, round_id=insp.round_id, unit_id=insp.unit_id)
    return [{"指标": title, "数值": row[key]} for key, title in MEASURES.items()]


def round_statistic_rows(*, session: Session) -> RoundStatistics:
    """Per-round table, overall rate, and the rate of each round still running (for progress bars)."""
    rows = statistics(session=session, by="轮次")
    running = set(session.exec(select(InspectionRound.id).where(col(InspectionRound.status) != RoundStatus.DONE)).all())
    overall = totals(session=session)
    return RoundStatistics(
        table=labelled(rows, MEASURES, first={"name": "轮次"}),
        overall=OverallRate(progress=rate_value(overall["rectified"], overall["items"]), rate=overall["rate"],
                            items=overall["items"]),
        rounds=[RoundRate(id=r["id"], name=r["name"], rate=r["rate"], progress=rate_value(r["rectified"], r["items"]))
                for r in rows if r["id"] in running and r["items"]],
    )


@task(name="单位巡察统计", **READ)
def unit_figures_task(inspection_id: int) -> Table:
    """The unit's figures in its round (for the artifact at archiving)."""
    with session_scope() as s:
        return Table.of(unit_figure_rows(session=s, inspection_id=inspection_id))


@task(name="各轮次统计", **READ)
def round_statistics_task() -> RoundStatistics:
    """Per-round statistics and rectification rates (for the daily sweep's artifacts)."""
    with session_scope() as s:
        return round_statistic_rows(session=s)
