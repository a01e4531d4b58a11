"""The calendar as office data: the years the working-day calendar knows, and entering a year's
holidays and adjusted working days (调休) from the State Council's notice (tasks/infra/holidays.py).
Office only (models/access.py MANAGE_HOLIDAYS), as the person logged in; entering is audited."""

from __future__ import annotations

from pathlib import Path

import typer

from deployments.cli.common import echo_rows
from deployments.cli.door import actor
from models.clock import now
from models.db import session_scope
from models.settings import get_settings
from tasks.infra import holidays
from tasks.infra.textio import read_text


def holidays_cmd() -> None:
    """列出工作日日历已收录的年份及来源（软件包、巡察办录入），并提示尚未录入的年份。"""
    by, t = actor(), now()
    settings = get_settings()
    with session_scope() as s:
        lines = holidays.known_years(session=s, settings=settings, by=by, today=t.date())
        missing = holidays.missing_years(session=s, settings=settings, today=t.date())
    echo_rows([{"年份": y.year, "来源": y.source, "节日": y.festivals,
                "放假天数": "" if y.rest_days is None else y.rest_days,
                "调休上班天数": "" if y.working_days is None else y.working_days, "录入": y.entered} for y in lines])
    for line in missing:
        typer.secho(f"注意：{line}", fg=typer.colors.YELLOW)


def set_holidays_cmd(
    year: int = typer.Argument(..., help="年份，如 2027"),
    path: Path = typer.Argument(..., help="按国务院办公厅通知填写的节假日安排（YAML 文本，逐个节日写放假和调休上班日期）"),
) -> None:
    """录入（或整体替换）一年的法定节假日和调休上班日期；暂按周末计算的工作日期限随即重算，提醒和督办随之调整（记入审计日志）。

    \b
    文件格式（每个节日一项，日期写成 年-月-日）：
      元旦:
        放假: 2027-01-01 至 2027-01-03
      春节:
        放假: 2027-02-06 至 2027-02-13
        调休上班: 2027-02-14、2027-02-20
    """
    by = actor()
    text, _ = read_text(path, what="节假日安排文件")
    with session_scope() as s:
        done = holidays.enter_year(session=s, settings=get_settings(), by=by, year=year, text=text, now=now())
    typer.echo(f"已{'替换' if done.replaced else '录入'}{year}年节假日安排：{done.festivals}个节日，放假{done.rest_days}天，"
               f"调休上班{done.working_days}天；" + holidays.moved_text(done.moved) + "。")
