"""Commands for the term plan (全覆盖), the pools and team composition. Each runs as the person
logged in (`xuncha login`); the role check happens on every call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import typer

from deployments.cli.common import echo_rows, fail
from deployments.cli.door import actor
from models.access import Action, require
from models.clock import now
from models.db import session_scope
from models.errors import DomainError
from models.settings import get_settings
from tasks.planning import term_plan
from tasks.records.team_figures import person_figures

T = TypeVar("T")
PLAN_DEPLOYMENT = "全覆盖排程/全覆盖排程"


def _as(s: Any, by: str, action: Action) -> None:
    from tasks.clues.ledger import account

    require(account(s, by).role, action)


def parse_years(text: str) -> tuple[int, int]:
    parts = text.replace("—", "-").replace("－", "-").replace("至", "-").split("-")
    try:
        first, last = (int(parts[0]), int(parts[-1]))
    except ValueError:
        raise DomainError(f"任期年份应写成“2021-2026”，实为“{text}”") from None
    return first, last


def parse_mix(text: str) -> dict[str, int]:
    """`部门=1,乡镇街道=1,社区村=2` (also with ：、 and Chinese commas)."""
    mix: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.replace("，", ",").replace("、", ",").split(","))):
        kind, _, n = part.replace("：", "=").replace(":", "=").partition("=")
        try:
            mix[kind.strip()] = int(n or 1)
        except ValueError:
            raise DomainError(f"组合规则应写成“部门=1,乡镇街道=1”，无法识别“{part}”") from None
    return mix


def parse_day(text: str) -> date:
    """A date given on the command line, today when empty."""
    try:
        return date.fromisoformat(text) if text else now().date()
    except ValueError:
        fail(f"日期格式应为 YYYY-MM-DD：{text}")


def _on_term(name: str, by: str, action: Action, work: Callable[[Any, int], T]) -> T:
    """`work(session, term id)` for person `by` if their role may do `action`; a refusal ends the command."""
    from tasks.planning import term_plan
    with session_scope() as s:
        _as(s, by, action)
        term = term_plan.get_term(s, name)
        assert term.id is not None
        return work(s, term.id)


def term_create_cmd(
    name: str = typer.Argument(..., help="任期计划名称，如：十四届区委任期"),
    years: str = typer.Option(..., "--years", help="任期起止年份，如 2021-2026"),
    rounds_per_year: int = typer.Option(2, "--rounds-per-year", help="每年巡察轮次数"),
    units_per_round: int = typer.Option(4, "--units-per-round", help="每轮最多巡察单位数（巡察组容量）"),
    mix: str = typer.Option("", "--mix", help="每轮组合规则，如“部门=2,乡镇街道=1,社区村=1”（“3+1”模式）"),
) -> None:
    """建立一届任期的全覆盖计划（任期、每年轮次、每轮容量、组合规则）。"""
    by = actor()
    first, last = parse_years(years)
    with session_scope() as s:
        _as(s, by, Action.PLAN_TERM)
        term = term_plan.create_term(session=s, name=name, first_year=first, last_year=last,
                                     rounds_per_year=rounds_per_year, units_per_round=units_per_round,
                                     mix=parse_mix(mix), actor=by, now=now())
        tid = term.id
    typer.echo(f"已建立任期计划“{name}”（编号 {tid}）。排程：界面中运行部署“全覆盖排程”，或 schedule {name} --submit。")

def coverage_cmd(
    name: str = typer.Argument(..., help="任期计划名称"),
    as_of: str = typer.Option("", "--as-of", help="统计日期（YYYY-MM-DD），默认今天"),
) -> None:
    """全覆盖情况：按单位类型列出已巡察、已排入计划、尚未安排的单位数，进度不足时给出预警。"""
    by = actor()
    day = parse_day(as_of)
    cov = _on_term(name, by, Action.VIEW_COVERAGE, lambda s, tid: term_plan.coverage(session=s, term_id=tid, as_of=day))
    typer.echo(f"{cov.term}（{cov.first_year}—{cov.last_year}年），截至{day}：共{cov.total}个单位，已巡察{cov.covered}个，"
               f"已排入计划{cov.planned}个，尚未安排{cov.total - cov.covered - cov.planned}个")
    echo_rows(cov.rows)
    for w in cov.warnings:
        typer.secho(f"预警：{w}", fg=typer.colors.YELLOW)

def schedule_cmd(
    name: str = typer.Argument(..., help="任期计划名称"),
    as_of: str = typer.Option("", "--as-of", help="从哪天起排（YYYY-MM-DD），默认今天"),
    submit: bool = typer.Option(False, "--submit", help="发起“全覆盖排程”审批流程（巡察办在界面中批准或调整）"),
) -> None:
    """提出剩余轮次的排程建议（不保存）；--submit 报巡察办审批。"""
    by = actor()
    day = parse_day(as_of)
    plan = _on_term(name, by, Action.PLAN_TERM, lambda s, tid: term_plan.propose(session=s, term_id=tid, as_of=day))
    typer.echo("轮次\t单位数\t被巡察单位")
    for r in plan:
        typer.echo(f"{r.year}年第{r.number}轮\t{len(r.units)}\t{'、'.join(u.name for u in r.units)}")
    if submit:
        from prefect.deployments import run_deployment

        from deployments.cli.reach import prefect_api

        prefect_api()
        run: Any = run_deployment(PLAN_DEPLOYMENT, parameters={"params": {"term": name, "as_of": day.isoformat()}}, timeout=0)
        typer.echo(f"已报审批：{get_settings().run_link(str(run.id))}")

def pools_cmd() -> None:
    """组长库、人才库：专长、是否可用、参加巡察次数和最近一次，以及所在巡察组历轮的每单位问题数、指标覆盖、移交线索、整改到位率和报告退回次数。"""
    by = actor()
    with session_scope() as s:
        _as(s, by, Action.PLAN_TERM)
        history = term_plan.service_history(s)
        people = [p for p in term_plan.person_records(s) if p.leader or p.talent]
        figures = person_figures(session=s)  # how their teams did (tasks/records/team_figures.py)
    none: dict[str, Any] = {}
    echo_rows([{"姓名": p.name, "组长库": "是" if p.leader else "", "人才库": "是" if p.talent else "",
             "专长": "、".join(sorted(p.specialties)), "可用": "是" if p.available else "否",
             "参加次数": p.rounds_served,
             "最近参加": "；".join(f"{h.round}（{h.role}）" for h in history.get(p.id, [])[-2:]),
             "每单位问题数": figures.get(p.name, none).get("per_unit", "—"),
             "指标覆盖": figures.get(p.name, none).get("indicators", "—"),
             "移交线索": figures.get(p.name, none).get("clues_transferred", 0),
             "整改到位率": figures.get(p.name, none).get("rate", "—"),
             "报告退回": figures.get(p.name, none).get("returned", 0)} for p in people])

def compose_cmd(
    units: str = typer.Option(..., "--units", help="被巡察单位，用顿号或逗号分隔"),
    teams: int = typer.Option(1, "--teams", help="巡察组数"),
    members: int = typer.Option(2, "--members", help="每组组员人数"),
    kind: str = typer.Option("常规巡察", "--kind", help="巡察类型（交叉巡察时不派往本片区）"),
    year: int = typer.Option(0, "--year", help="巡察年份（判断原工作单位回避期限），默认今年"),
) -> None:
    """按专长、轮换和回避制度提出巡察组组成建议，并说明每个未选配人员的原因（不保存）。"""
    by = actor()
    names = [n.strip() for n in units.replace("，", ",").replace("、", ",").split(",") if n.strip()]
    with session_scope() as s:
        _as(s, by, Action.PLAN_TERM)
        composition = term_plan.compose_for_round(
            session=s, unit_names=names, team_count=teams, members_per_team=members,
            year=year or now().year, kind=kind, former_years=get_settings().recusal_former_years)
    typer.echo(term_plan.composition_markdown(composition))
