"""The daily sweep's task hands the flow a typed SweepSummary (models/handoffs.py), read in-process
from the application's database as the flow's worker reads it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from models.handoffs import RoundStatistics, SweepSummary


def test_sweep_and_statistics_tasks_hand_over_typed_results(cli_home: Path) -> None:
    from models.db import session_scope
    from tasks.planning.org import load_org, read_org_file
    from tasks.records.prefect import round_statistics_task
    from tasks.supervision.prefect import sweep_task
    from tests.conftest import DEMO_ORG

    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    result = sweep_task.fn(date(2026, 12, 1), None, None)
    assert isinstance(result, SweepSummary)
    assert result.notices == 0 and result.look_backs == [] and result.progress == [] and result.held_until == ""
    stats = round_statistics_task.fn()
    assert isinstance(stats, RoundStatistics) and stats.rounds == [] and stats.overall.items == 0
