"""Common problems (共性问题) after their confirmation: the list with each one's leader, units,
items and status, and the close-out (共性问题销号) by the office, role-checked (the person logged in) and audited."""

from __future__ import annotations

import typer

from deployments.cli.common import echo_rows
from deployments.cli.door import actor
from models.clock import now
from models.db import session_scope
from models.settings import get_settings
from tasks.supervision.common_problems import close_common_problem, list_common_problems


def common_problems_cmd(
    round_name: str = typer.Option("", "--round", help="只列出某一巡察轮次（名称）"),
) -> None:
    """列出共性问题及其编号、分管领导、责任部门、涉及单位、整改事项、已销号、逾期和状态（督办中 / 已销号）。"""
    with session_scope() as s:
        rows = list_common_problems(session=s, round_name=round_name, as_of=now().date())
    echo_rows(rows, empty="（尚无已确认的共性问题）")

def close_common_cmd(
    problem_id: int = typer.Argument(..., help="共性问题编号（见 common-problems 命令）"),
    comment: str = typer.Option("", "--comment", help="销号意见（可不填）"),
) -> None:
    """共性问题销号：各单位该问题的整改事项全部销号后，由巡察办办理，督办随之结束（记入审计日志）。"""
    by = actor()
    settings = get_settings()
    with session_scope() as s:
        cp = close_common_problem(session=s, settings=settings, by=by, problem_id=problem_id, comment=comment,
                                  now=now(), link=settings.run_link(None))
        title = cp.title
    typer.echo(f"共性问题{problem_id}“{title}”已销号，督办结束。")
