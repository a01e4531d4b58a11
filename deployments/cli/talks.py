"""Commands for stationing's individual talks and evaluations. Talks are confidential like clues:
the person talked to, the reason and the record's text come from a file or standard input,
never from the command line (shell history, process lists); each command runs as the person
logged in, checked at the door and again by the domain function for the unit's team."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import typer
import yaml

from deployments.cli.common import echo_rows
from deployments.cli.door import actor
from models.access import Action
from models.clock import now
from models.db import session_scope
from models.errors import DomainError
from models.settings import get_settings
from tasks.clues.ledger import account, guarded
from tasks.infra.scope import authorise
from tasks.infra.textio import read_stream, read_text
from tasks.lifecycle.findings import find_inspection
from tasks.stationing import evaluations, talks

ROUND = typer.Option(..., "--round", help="巡察轮次名称")
UNIT = typer.Option(..., "--unit", help="被巡察单位名称")
TALKER = typer.Option(..., "--talker", help="谈话人（该单位巡察组成员）")
DAY = typer.Option(..., "--date", help="谈话日期（如 2026-12-10）")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(f"日期“{text}”的写法不对，应为“2026-12-10”这样的年-月-日") from None


def _form(file: Path | None, keys: tuple[str, ...]) -> dict[str, str]:
    """The YAML form of a file or standard input, with only the keys named."""
    text = read_stream(sys.stdin.buffer)[0] if file is None or str(file) == "-" else read_text(file)[0]
    try:
        raw: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise DomainError("登记表不是有效的 YAML（每行写“项目: 内容”）") from None
    if not isinstance(raw, dict):
        raise DomainError(f"登记表应包含：{'、'.join(keys)}")
    unknown = set(map(str, raw)) - set(keys)
    if unknown:
        raise DomainError(f"登记表中有无法识别的项：{'、'.join(sorted(unknown))}")
    return {k: "" if raw.get(k) is None else str(raw.get(k)) for k in keys}


def plan_talk_cmd(
    round_name: str = ROUND, unit_name: str = UNIT, talker: str = TALKER, day: str = DAY,
    file: Path = typer.Argument(None, help="谈话安排登记表（YAML：谈话对象、职务、谈话事由；不填或“-”为标准输入）"),
) -> None:
    """安排个别谈话（谈话安排）：谈话对象和谈话事由加密保存，仅本组成员和巡察办可查阅。"""
    by = actor()
    form = _form(file, ("谈话对象", "职务", "谈话事由"))
    with session_scope() as s:
        insp = find_inspection(session=s, round_name=round_name, unit_name=unit_name)
        plan = talks.plan_talk(session=s, settings=get_settings(), by=by, inspection_id=insp.id or 0,
                               person=talks.Person(form["谈话对象"], form["职务"]), talker=talker, planned_on=_day(day),
                               purpose=form["谈话事由"], now=now())
        pid = plan.id
    typer.echo(f"已安排个别谈话，编号 {pid}（谈话对象和事由已加密保存）。")


def add_talk_cmd(
    round_name: str = ROUND, unit_name: str = UNIT, talker: str = TALKER, day: str = DAY,
    plan: int = typer.Option(None, "--plan", help="谈话安排编号（按安排进行的谈话；谈话对象可不再填写）"),
    file: Path = typer.Argument(None, help="谈话记录登记表（YAML：谈话对象、职务、谈话内容；不填或“-”为标准输入）"),
) -> None:
    """登记谈话记录：谈话对象和内容加密保存，不出现在命令行参数、日志和流程平台中。"""
    by = actor()
    form = _form(file, ("谈话对象", "职务", "谈话内容"))
    person = talks.Person(form["谈话对象"], form["职务"]) if form["谈话对象"].strip() else None
    with session_scope() as s:
        insp = find_inspection(session=s, round_name=round_name, unit_name=unit_name)
        rec = talks.record_talk(session=s, settings=get_settings(), by=by, inspection_id=insp.id or 0, talker=talker,
                                held_on=_day(day), content=form["谈话内容"], person=person, plan_id=plan, now=now())
        rid = rec.id
    typer.echo(f"已登记谈话记录，编号 {rid}（谈话对象和内容已加密保存）。")


def talks_cmd(round_name: str = ROUND, unit_name: str = UNIT) -> None:
    """谈话安排和谈话记录一览：编号、谈话人、日期（不含谈话对象和内容）。"""
    by = actor()
    with session_scope() as s:
        insp = find_inspection(session=s, round_name=round_name, unit_name=unit_name)
        rows = talks.talk_overview(session=s, by=by, inspection_id=insp.id or 0, now=now())
    echo_rows(rows, empty="（尚无谈话安排和谈话记录）")


def show_talk_cmd(
    number: int = typer.Argument(..., help="谈话记录编号（加 --plan 时为谈话安排编号）"),
    plan: bool = typer.Option(False, "--plan", help="查阅谈话安排（谈话对象和事由）"),
) -> None:
    """查阅谈话记录或谈话安排（仅本组成员和巡察办，查阅留痕）。"""
    by = actor()
    with session_scope() as s:
        if plan:
            row = talks.read_plan(session=s, settings=get_settings(), by=by, plan_id=number, now=now())
        else:
            row = talks.read_talk(session=s, settings=get_settings(), by=by, record_id=number, now=now())
    for k, v in row.items():
        typer.echo(f"{k}：{v}")


def import_evaluations_cmd(
    sheet: Path = typer.Argument(..., help="民主测评和问卷调查结果表（.xlsx）"),
    round_name: str = ROUND,
) -> None:
    """导入民主测评和问卷调查结果（每行一个单位的一个项目）；有任何一处错误则整表不导入，并逐行列出错误。"""
    by = actor()
    rows = evaluations.parse_evaluation_sheet(sheet)
    with session_scope() as s:
        written = evaluations.import_evaluations(session=s, by=by, round_name=round_name, rows=rows, now=now())
    typer.echo("已导入：" + "；".join(f"{u}{n}项" for u, n in written.items()) + "。")


def evaluations_cmd(round_name: str = ROUND, unit_name: str = UNIT) -> None:
    """民主测评和问卷调查结果：项目、参评人数、各答案人数和得分。"""
    by = actor()
    with session_scope() as s:
        insp = find_inspection(session=s, round_name=round_name, unit_name=unit_name)
        acc = account(s, by)
        guarded(s, by=acc.name, action=Action.VIEW_PROGRESS.value, entity="inspection", entity_id=insp.id, now=now(),
                work=lambda: authorise(session=s, account=acc, action=Action.VIEW_PROGRESS, inspection=insp))
        rows = [{"类型": r["kind"], "项目": r["item"], "参评人数": r["respondents"], "各答案人数": r["answers"],
                 "得分": r["score"]} for r in evaluations.result_lines(session=s, inspection_id=insp.id or 0)]
    echo_rows(rows, empty="（尚未导入民主测评和问卷调查结果）")
