"""Correcting the findings a team recorded, while it is still on site (集中巡察): each command
names the person acting, the role and the team's reach are checked, and every change is audited."""

from __future__ import annotations

import typer
from sqlmodel import col, select

from deployments.cli.common import echo_rows
from deployments.cli.door import actor
from models.clock import now
from models.db import session_scope
from models.enums import FindingScope
from models.errors import DomainError
from models.tables import Finding
from tasks.lifecycle.findings import COLUMNS, correct_finding, find_inspection, withdraw_finding


def findings_cmd(
    round_name: str = typer.Option(..., "--round", help="巡察轮次名称"),
    unit_name: str = typer.Option(..., "--unit", help="被巡察单位名称"),
) -> None:
    """列出一个单位已登记的问题及其编号（更正、撤回时使用）。"""
    with session_scope() as s:
        insp = find_inspection(session=s, round_name=round_name, unit_name=unit_name)
        rows = [{"编号": f.id, "问题类别": f.category, "问题描述": f.description, "证据材料": f.evidence,
                 "问题性质": FindingScope(f.scope).value, "立行立改": "是" if f.fixed_on_site else "否"}
                for f in s.exec(select(Finding).where(Finding.inspection_id == insp.id).order_by(col(Finding.id)))]
    echo_rows(rows)

def correct_finding_cmd(
    finding_id: int = typer.Argument(..., help="问题编号（见 findings 命令）"),
    fields: list[str] = typer.Option(..., "--field", help=f"字段=新内容，可重复；字段为：{'、'.join(COLUMNS)}"),
) -> None:
    """集中巡察期间更正一个已登记的问题（留痕）。"""
    by = actor()
    changes: dict[str, str] = {}
    for item in fields:
        column, sep, value = item.partition("=")
        if not sep:
            raise DomainError(f"--field 应写成 字段=新内容，实为“{item}”")
        if column.strip() in changes:
            raise DomainError(f"字段“{column.strip()}”重复")
        changes[column.strip()] = value
    with session_scope() as s:
        correct_finding(session=s, by=by, finding_id=finding_id, changes=changes, now=now())
    typer.echo(f"已更正问题{finding_id}：{'、'.join(changes)}。")

def withdraw_finding_cmd(
    finding_id: int = typer.Argument(..., help="问题编号（见 findings 命令）"),
    reason: str = typer.Option(..., "--reason", help="撤回原因"),
) -> None:
    """集中巡察期间撤回一个误登或重复登记的问题（原内容和原因记入审计日志）。"""
    by = actor()
    with session_scope() as s:
        withdraw_finding(session=s, by=by, finding_id=finding_id, reason=reason, now=now())
    typer.echo(f"已撤回问题{finding_id}。")
