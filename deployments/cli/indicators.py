"""Commands for the health-check indicators (#27): the office's library (list, import from Excel or
the shipped 示例, export), the team's record of what it examined at a unit, and the coverage the team
leader watches while stationing. Each runs as the person logged in; the door checks the role
(models/access.py COMMANDS) and the domain function the team's reach."""

from __future__ import annotations

from pathlib import Path

import typer

from deployments.cli.common import echo_rows
from deployments.cli.door import actor
from models.access import Action
from models.clock import now
from models.db import session_scope
from models.errors import DomainError
from tasks.clues.ledger import account, guarded
from tasks.lifecycle.findings import find_inspection
from tasks.records.statistics import find_round
from tasks.stationing import indicators as ind

SAMPLE_NOTE = "标为“示例”的指标是本系统按巡察报告常用的问题类别编写的格式示例，不是官方指标清单；请巡察办按本地要求修改后使用。"


def indicators_cmd() -> None:
    """列出巡察指标库：指标、类别、适用单位类型、问题表现、如何巡察、有何要求。"""
    with session_scope() as s:
        rows = ind.library(session=s)
        out = [{"指标": ind.shown_name(i), "类别": i.category, "适用单位类型": "、".join(i.unit_kinds) or "全部",
                "问题表现": i.symptoms, "如何巡察": i.how, "有何要求": i.requirement} for i in rows]
        sample = any(i.sample for i in rows)
    echo_rows(out, empty="（指标库为空：巡察办可用 import-indicators 导入）")
    if sample:
        typer.echo(SAMPLE_NOTE)

def import_indicators_cmd(
    path: Path = typer.Argument(None, help="指标库 Excel 文件（.xlsx；列：指标、类别、问题表现、如何巡察、有何要求、适用单位类型）"),
    sample: bool = typer.Option(False, "--sample", help="导入本系统附带的示例指标（约十项，标为“示例”，不是官方清单）"),
    replace: bool = typer.Option(False, "--replace", help="以文件为准：文件中没有的指标移出指标库（已登记的核查情况保留）"),
) -> None:
    """导入巡察指标库（按指标名称新增或更新；任何一行有误整表不导入）。"""
    if (path is None) == (not sample):
        raise DomainError("请指定指标库文件，或使用 --sample 导入示例指标（二者选一）")
    rows = ind.read_indicator_file(path) if path is not None else None
    by, t = actor(), now()
    with session_scope() as s:
        counts = (ind.import_indicators(session=s, rows=rows, by=by, now=t, replace=replace) if rows is not None
                  else ind.load_sample(session=s, by=by, now=t))
    typer.echo(f"已导入巡察指标库：新增{counts['added']}项，更新{counts['updated']}项"
               + (f"，移出{counts['retired']}项" if counts["retired"] else "") + "。")
    if sample:
        typer.echo(SAMPLE_NOTE)

def export_indicators_cmd(
    path: Path = typer.Argument(..., help="导出的 Excel 文件（.xlsx），已存在则覆盖"),
) -> None:
    """导出巡察指标库到 Excel（与导入格式相同，修改后可再导入）。"""
    with session_scope() as s:
        n = ind.export_indicators(session=s, path=path)
    typer.echo(f"已导出到 {path}：指标{n}项。")

def _split(values: list[str]) -> list[str]:
    return [p.strip() for v in values for p in v.replace("，", ",").replace("、", ",").split(",") if p.strip()]


def examine_cmd(
    round_name: str = typer.Option(..., "--round", help="巡察轮次名称"),
    unit_name: str = typer.Option(..., "--unit", help="被巡察单位名称"),
    indicator: str = typer.Option(..., "--indicator", help="指标名称（见 indicators 命令）"),
    methods: list[str] = typer.Option(..., "--method", help=f"巡察方法，可重复或用顿号分隔：{'、'.join(ind.METHODS)}"),
    findings: list[int] = typer.Option([], "--finding", help="由此发现的问题编号（见 findings 命令），可重复"),
    note: str = typer.Option("", "--note", help="核查说明"),
) -> None:
    """登记本组对一个单位核查了哪项指标、用了哪些方法、发现了哪些问题（集中巡察期间）。"""
    by, t = actor(), now()
    with session_scope() as s:
        insp = find_inspection(session=s, round_name=round_name, unit_name=unit_name)
        who = account(s, by)
        guarded(s, by=by, action=Action.RECORD_EXAMINATION.value, entity="inspection", entity_id=insp.id, now=t,
                work=lambda: ind.record_check(session=s, account=who, inspection=insp, indicator=indicator,
                                              methods=_split(methods), finding_ids=list(findings), note=note, now=t))
        cov = ind.coverage(session=s, inspection_id=insp.id or 0)
    typer.echo(f"已登记：{cov.label}，指标“{indicator.strip()}”。")
    typer.echo("\n".join(ind.coverage_lines(cov)))

def indicator_coverage_cmd(
    round_name: str = typer.Option(..., "--round", help="巡察轮次名称"),
    unit_name: str = typer.Option("", "--unit", help="只看某一被巡察单位"),
) -> None:
    """指标覆盖情况：各单位已核查和未核查的指标、已使用和未使用的巡察方法（组长、组员只看本组单位）。"""
    by, t = actor(), now()
    with session_scope() as s:
        rnd = find_round(session=s, name=round_name)
        unit_id = find_inspection(session=s, round_name=round_name, unit_name=unit_name).unit_id if unit_name else None
        who = account(s, by)
        assert rnd.id is not None
        covs = guarded(s, by=by, action=Action.VIEW_INDICATOR_COVERAGE.value, entity="inspection_round",
                       entity_id=rnd.id, now=t,
                       work=lambda: ind.round_coverage(session=s, account=who, round_id=rnd.id or 0, unit_id=unit_id))
    for cov in covs:
        typer.echo(f"【{cov.label}】")
        typer.echo("\n".join(ind.coverage_lines(cov)) + "\n")
