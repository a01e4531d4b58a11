"""Commands for statistics, the per-team evaluation, charts and the Excel lists (五清单).

Registered on the main CLI by deployments/cli/main.py; `stats` itself lives there. Output is counts
only: no clue text and no names of people handled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from deployments.cli.common import echo_rows
from models.clock import today
from models.db import session_scope
from models.errors import DomainError


def parse_year(text: str) -> int | None:
    """'' → None; '2026' → 2026; anything else a Chinese error."""
    text = text.strip()
    if not text:
        return None
    if not (text.isdigit() and len(text) == 4):
        raise DomainError(f"年度应为四位数字（如 2026），实为“{text}”")
    return int(text)


def print_table(rows: list[dict[str, Any]]) -> None:
    echo_rows(rows, empty="（无数据）")


def evaluate_teams_cmd(
    round_name: str = typer.Option("", "--round", help="只看某一巡察轮次（名称）"),
    year: str = typer.Option("", "--year", help="只看某一年度开始的轮次，如 2026"),
    people: bool = typer.Option(False, "--people", help="同时列出每名巡察干部（按其所在巡察组计）"),
) -> None:
    """巡察组考评：各组发现问题数、线索数、移交线索、整改事项、整改率（可按轮次或年度）。"""
    from tasks.records.statistics import (
        INSPECTOR_LABELS,
        TEAM_LABELS,
        find_round,
        labelled,
        per_inspector_evaluation,
        per_team_evaluation,
    )

    if round_name and year:
        raise DomainError("--round 与 --year 只能选一个")
    y = parse_year(year)
    with session_scope() as s:
        rid = find_round(session=s, name=round_name).id if round_name else None
        teams = per_team_evaluation(session=s, round_id=rid, year=y)
        inspectors = per_inspector_evaluation(session=s, round_id=rid, year=y) if people else []
    print_table(labelled(teams, TEAM_LABELS))
    if people:
        typer.echo("\n巡察干部（所在巡察组的合计，问题和线索不按个人登记）：")
        print_table(labelled(inspectors, INSPECTOR_LABELS))

def charts_cmd(
    directory: Path = typer.Argument(..., help="图表输出目录（PNG 文件，同名覆盖）"),
    round_name: str = typer.Option(..., "--round", help="巡察轮次名称"),
    teams: bool = typer.Option(False, "--teams", help="另生成巡察组考评图（全部轮次的各巡察组：每单位问题数、指标覆盖率、整改到位率）"),
) -> None:
    """生成一轮巡察的图表：整改进度（累计销号与整改事项）、各单位整改到位率、按单位类型的巡察覆盖；--teams 另生成巡察组考评图。"""
    from tasks.records.charts import round_charts, teams_chart
    from tasks.records.statistics import find_round

    with session_scope() as s:
        rnd = find_round(session=s, name=round_name)
        assert rnd.id is not None
        paths = round_charts(session=s, round_id=rnd.id, directory=directory)
        if teams:
            paths.append(teams_chart(session=s, path=directory / "teams.png"))
    typer.echo(f"已生成{len(paths)}张图表：\n" + "\n".join(str(p) for p in paths))

def export_lists_cmd(
    path: Path = typer.Argument(..., help="导出的 Excel 文件（.xlsx），已存在则覆盖"),
    round_name: str = typer.Option(..., "--round", help="巡察轮次名称"),
    unit_name: str = typer.Option("", "--unit", help="只导出某一被巡察单位（名称）"),
) -> None:
    """导出整改清单（问题清单、任务清单、责任清单、整改进展台账、汇总）到 Excel。"""
    from tasks.records.exports import export_lists

    with session_scope() as s:
        counts = export_lists(session=s, round_name=round_name, unit_name=unit_name or None, path=path,
                              as_of=today())
    typer.echo(f"已导出到 {path}：问题{counts['problems']}个，整改事项{counts['items']}项。")
