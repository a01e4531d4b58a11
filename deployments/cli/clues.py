"""Commands for petitions and clues. Each runs as the person logged in (`xuncha login`), checked
at the door and again by the domain function for the record's reach; confidential text is read from a file or standard input,
never from the command line, so it stays out of shell history and process lists."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
import yaml

from deployments.cli.common import echo_rows, fail
from deployments.cli.door import actor
from models.access import Action, require
from models.clock import now
from models.db import session_scope
from models.enums import ClueKind
from models.errors import DomainError
from models.settings import get_settings
from tasks.clues import ledger as clues
from tasks.infra.textio import read_stream, read_text, yaml_problem
from tasks.infra.workdays import span_text
from tasks.lifecycle.findings import find_inspection

# The options a new clue is given, whether it comes from a petition or is recorded directly.
CLUE_KIND = typer.Option(..., "--kind", help=f"线索类型：{'、'.join(k.value for k in ClueKind)}")
URGENT = typer.Option(False, "--urgent", help="需边巡边移")


def _text(path: Path | None) -> str:
    """The text of a file or standard input, in any encoding tasks/infra/textio accepts."""
    if path is None or str(path) == "-":
        return read_stream(sys.stdin.buffer)[0]
    return read_text(path)[0]


def _key_lines(text: str) -> dict[str, int]:
    """The line (from 1) of each top-level item's value in a YAML form, for the messages."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): v.start_mark.line + 1 for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _field(raw: dict[object, object], key: str, lines: dict[str, int] | None = None) -> str:
    """One item of the form as text: a number (a telephone) is text too; a list or a table is refused."""
    value = raw.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        line = (lines or {}).get(key)
        raise DomainError(f"登记表中“{key}”应为一段文字（不能是列表或多项）" + (f"：第{line}行" if line else ""))
    return str(value)


def add_petition_cmd(
    round_name: str = typer.Option(..., "--round", help="巡察轮次名称"),
    unit_name: str = typer.Option(..., "--unit", help="被巡察单位名称"),
    file: Path = typer.Argument(..., help="信访举报登记表（YAML：渠道、内容、举报人、联系方式；“-”为标准输入）"),
) -> None:
    """受理信访举报。举报人身份加密保存，仅有权角色可查阅；登记后请删除登记表文件。"""
    by = actor()
    try:
        try:
            text = _text(file)
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise yaml_problem(exc, what="信访举报登记表") from None
        if not isinstance(raw, dict):
            raise DomainError("登记表应包含：渠道、内容、举报人、联系方式")
        unknown = set(raw) - {"渠道", "内容", "举报人", "联系方式"}
        if unknown:
            raise DomainError(f"登记表中有无法识别的项：{'、'.join(sorted(map(str, unknown)))}")
        lines = _key_lines(text)
        fields = {key: _field(raw, key, lines) for key in ("渠道", "内容", "举报人", "联系方式")}
        with session_scope() as s:
            insp = find_inspection(session=s, round_name=round_name, unit_name=unit_name)
            p = clues.add_petition(session=s, settings=get_settings(), by=by, inspection_id=insp.id or 0,
                                   channel=fields["渠道"], content=fields["内容"], informant_name=fields["举报人"],
                                   informant_contact=fields["联系方式"], now=now())
            pid, anonymous = p.id, p.anonymous
    except DomainError as exc:
        fail(str(exc))
    typer.echo(f"已受理信访举报，编号 {pid}{'（匿名）' if anonymous else '（举报人身份已加密保存）'}。")

def show_petition_cmd(
    petition_id: int = typer.Argument(..., help="信访举报编号"),
    informant: bool = typer.Option(False, "--informant", help="同时显示举报人身份（仅限有权角色，查阅留痕）"),
) -> None:
    """查阅信访举报（查阅留痕）。"""
    by = actor()
    with session_scope() as s:
        row = clues.read_petition(session=s, settings=get_settings(), by=by, petition_id=petition_id,
                                  informant=informant, now=now())
    for k, v in row.items():
        typer.echo(f"{k}：{'' if v is None else v}")

def petition_to_clue_cmd(
    petition_id: int = typer.Argument(..., help="信访举报编号"),
    kind: str = CLUE_KIND,
    file: Path = typer.Option(None, "--file", help="线索摘要文件；不填则从标准输入读取"),
    urgent: bool = URGENT,
) -> None:
    """把信访举报转为问题线索（线索摘要从文件或标准输入读取）。"""
    by = actor()
    summary = _text(file)
    with session_scope() as s:
        clue = clues.petition_to_clue(session=s, settings=get_settings(), by=by, petition_id=petition_id,
                                      kind=kind, summary=summary, urgent=urgent, now=now())
        cid = clue.id
    typer.echo(f"已转为线索，编号 {cid}。")

def add_clue_cmd(
    round_name: str = typer.Option(..., "--round", help="巡察轮次名称"),
    unit_name: str = typer.Option(..., "--unit", help="被巡察单位名称"),
    kind: str = CLUE_KIND,
    file: Path = typer.Option(None, "--file", help="线索内容文件；不填则从标准输入读取"),
    urgent: bool = URGENT,
) -> None:
    """登记问题线索。线索内容从文件或标准输入读取，不出现在命令行参数和日志中。"""
    by = actor()
    summary = _text(file)
    with session_scope() as s:
        insp = find_inspection(session=s, round_name=round_name, unit_name=unit_name)
        clue = clues.register_clue(session=s, by=by, inspection_id=insp.id or 0, kind=kind, summary=summary,
                                   urgent=urgent, now=now())
        cid = clue.id
    typer.echo(f"已登记线索，编号 {cid}。")

def transfer_now_cmd(clue_id: int = typer.Argument(..., help="线索编号")) -> None:
    """边巡边移：集中巡察期间立即移交一件紧急线索，生成移交函并通知接收单位。"""
    by = actor()
    settings = get_settings()
    with session_scope() as s:
        letter = clues.transfer_urgent(session=s, settings=settings, by=by, clue_id=clue_id, now=now(),
                                       link=settings.run_link(None))
        doc_no, due = letter.doc_no, letter.ack_due_on
    typer.echo(f"已移交（{doc_no}），签收期限 {due}。")

def clues_cmd() -> None:
    """线索办理台账：未办结的线索及其接收单位、签收和反馈期限（不含线索内容）。"""
    by = actor()
    with session_scope() as s:
        rows = clues.open_clues(session=s, by=by, now=now())
    echo_rows(rows)

def show_clue_cmd(clue_id: int = typer.Argument(..., help="线索编号")) -> None:
    """查阅线索内容（按角色限定，查阅留痕）。"""
    by = actor()
    with session_scope() as s:
        row = clues.read_clue(session=s, by=by, clue_id=clue_id, now=now())
    for k, v in row.items():
        typer.echo(f"{k}：{v}")

def ack_letter_cmd(
    letter_id: int = typer.Argument(..., help="线索移交函编号"),
    code: str = typer.Option(..., "--code", help="线索移交提醒中的六位签收码"),
) -> None:
    """接收单位签收线索移交函（也可用界面中的“签收线索移交函”部署）。"""
    by = actor()
    with session_scope() as s:
        letter = clues.acknowledge(session=s, settings=get_settings(), by=by, letter_id=letter_id, code=code,
                                   now=now())
        count = letter.clue_count
    typer.echo(f"已签收移交函，线索{count}件；请在{span_text(get_settings().rule('clue_result'))}内反馈办理结果。")

def clue_result_cmd(
    clue_id: int = typer.Argument(..., help="线索编号"),
    result: str = typer.Option(..., "--result", help="初步核实、立案审查调查、诫勉谈话、留置、移送司法机关、党纪政务处分、经核查无问题"),
    note_file: Path = typer.Option(None, "--note-file", help="办理情况说明文件（可不填）"),
) -> None:
    """接收单位反馈线索办理结果；除“初步核实”外，反馈即办结。"""
    by = actor()
    note = _text(note_file) if note_file else ""
    with session_scope() as s:
        clue = clues.report_result(session=s, settings=get_settings(), by=by, clue_id=clue_id, result=result,
                                   note=note, now=now())
        closed = clue.closed_at is not None
    typer.echo("已反馈，线索办结。" if closed else "已反馈初步核实情况，线索仍在办理中。")

def rotate_key_cmd() -> None:
    """轮换举报人身份的加密密钥：生成新密钥并用它重新加密全部记录。"""
    by = actor()
    from tasks.clues.keys import rotate_informant_key

    with session_scope() as s:
        from tasks.clues.ledger import account, guarded

        n = guarded(s, by=by, action="轮换加密密钥", entity="petition", entity_id=None, now=now(),
                    work=lambda: (require(account(s, by).role, Action.ROTATE_KEY),
                                  rotate_informant_key(session=s, settings=get_settings(), by=by, now=now()))[1])
    typer.echo(f"已轮换密钥，重新加密{n}条举报人记录。")
