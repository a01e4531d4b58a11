"""Bad input across the command line, the imports and the forms behind them: each case gets a
clear Chinese message, exits non-zero and writes nothing (a refused action adds only its own
audit entry). One table, one row per case."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from deployments.cli.main import app
from models.db import get_engine
from models.enums import Stage
from models.settings import get_settings
from models.tables import AuditEvent, ClueLetter
from tasks.clues import ledger as clues
from tests.conftest import LINK, NOW
from tests.support.advance import advance
from tests.support.cli import as_person, login
from tests.support.factories import letter_code, make_round, row_counts, write_xlsx

ROUND = "2026年第一轮巡察"  # the default of tests/support/factories.round_params
ENGLISH = re.compile(r"Field required|Input should|value_error|Traceback|validation error|while parsing|while scanning|"
                     r"expected|found character|内部错误", re.I)


def write(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return str(path)


ROUND_YAML = ("name: 新一轮巡察\nkind: 常规巡察\nstart_date: 2027-03-01\nend_date: 2027-04-30\n"
              "teams:\n  - {name: 第五巡察组, leader: 马成功, units: [区审计局]}\n")

Argv = Callable[[Path], list[str]]  # builds a command line in the test's tmp folder


def org_yaml(text: str) -> Argv:
    """`load-org` of an org file with this text."""
    return lambda t: ["load-org", write(t, "org.yaml", text)]


def findings_csv(text: str, *, unit: str = "城东街道", round_name: str = ROUND) -> Argv:
    """`import-findings` of a findings sheet with this text, for this unit of this round."""
    return lambda t: ["import-findings", write(t, "问题.csv", text), "--round", round_name, "--unit", unit]


def org_sheet(sheet: str, rows: list[list[str]]) -> Argv:
    """`load-org` of an org workbook with this one sheet (the other sheets absent)."""
    return lambda t: ["load-org", str(write_xlsx(t / "org.xlsx", rows, sheet=sheet))]


def petition(text: str, *, by: str) -> Argv:
    """`add-petition` of this petition file to 城东街道 of the round."""
    return lambda t: ["add-petition", "--round", ROUND, "--unit", "城东街道", "--as", by, write(t, "p.yaml", text)]


def clue(text: str, *, kind: str, by: str) -> Argv:
    """`add-clue` of this text, as a clue of `kind` of 城东街道 of the round."""
    return lambda t: ["add-clue", "--round", ROUND, "--unit", "城东街道", "--kind", kind, "--as", by,
                      "--file", write(t, "c.txt", text)]


def round_yaml(old: str, new: str) -> Argv:
    """`start-round` of ROUND_YAML with `old` put as `new`."""
    return lambda t: ["start-round", write(t, "r.yaml", ROUND_YAML.replace(old, new))]


# (case, argv builder, what the message must say).
CASES: list[tuple[str, Argv, str]] = [
    ("org: no such file", lambda t: ["load-org", str(t / "无.yaml")], "找不到组织数据文件"),
    ("org: wrong file type", lambda t: ["load-org", write(t, "org.txt", "x")], "不支持的组织数据文件类型：.txt"),
    ("org: not YAML", org_yaml("units: [\n"), "不是有效的 YAML"),
    ("org: unknown unit kind", org_yaml("units:\n  - {name: 新单位, kind: 公司}\n"), "应为乡镇街道、部门、国有企业、社区村之一"),
    ("org: person's unit unknown", org_yaml("people:\n  - {name: 新人, unit: 不存在局}\n"), "人员“新人”的所在单位不存在：不存在局"),
    ("org: duplicate unit", org_yaml("units:\n  - {name: 甲, kind: 部门}\n  - {name: 甲, kind: 部门}\n"), "单位重复：甲"),
    ("org: account of an unknown role", org_yaml("accounts:\n  - {name: 某人, role: 管理员}\n"), "应为巡察办、巡察组组长"),
    ("org: account without a name", org_yaml("accounts:\n  - {role: 巡察办}\n"), "必须填写"),
    ("findings: no such file", lambda t: ["import-findings", str(t / "无.xlsx"), "--round", ROUND, "--unit", "城东街道"], "找不到"),
    ("findings: wrong file type", lambda t: ["import-findings", write(t, "问题.doc", "x"), "--round", ROUND, "--unit", "城东街道"],
     ".doc"),
    ("findings: empty description", findings_csv("问题类别,问题描述\n党的建设,\n"), "第2行“问题描述”"),
    ("findings: unknown round", findings_csv("问题类别,问题描述\n党的建设,会议记录缺失\n", round_name="不存在的轮次"), "不存在的轮次"),
    ("findings: unit not in the round", findings_csv("问题类别,问题描述\n党的建设,会议记录缺失\n", unit="马岙村"), "马岙村"),
    ("round: no such file", lambda t: ["start-round", str(t / "无.yaml")], "找不到文件"),
    ("round: name missing", round_yaml("name: 新一轮巡察\n", ""), "巡察轮次名称：必须填写"),
    ("round: ends before it starts", round_yaml("2027-04-30", "2027-02-01"), "进驻结束日期早于开始日期"),
    ("round: not a date", round_yaml("2027-03-01", "2027-02-30"), "进驻开始日期：应为日期"),
    ("round: unknown kind", round_yaml("常规巡察", "普通巡察"), "巡察类型：应为常规巡察、专项巡察"),
    ("round: leader not in the pool", round_yaml("马成功", "林静"), "林静 不在巡察组长库中"),
    ("round: unknown unit", round_yaml("区审计局", "区外事办"), "未知的被巡察单位：区外事办"),
    ("round: name taken", round_yaml("新一轮巡察", ROUND), f"巡察轮次名称已存在：{ROUND}"),
    ("sweep: not a date", lambda t: ["sweep", "--as-of", "2026-13-40"], "督办日期：应为日期"),
    ("sweep: rate out of range", lambda t: ["sweep", "--rate-below", "150"], "整改率阈值应在0到100之间"),
    ("stats: unknown level", lambda t: ["stats", "--by", "季度"], "统计口径应为"),
    ("export: not .xlsx", lambda t: ["export-org", str(t / "导出.csv")], "导出文件名应以 .xlsx 结尾"),
    ("petition: unknown channel", petition("渠道: 托梦\n内容: 反映问题\n", by="刘洋"), "未知的受理渠道：托梦"),
    ("petition: no content", petition("渠道: 来信\n内容: ''\n", by="刘洋"), "信访举报内容不能为空"),
    ("petition: unknown person", petition("渠道: 来信\n内容: 反映问题\n", by="冒名者"), "尚未登录"),
    ("clue: unknown kind", clue("线索", kind="其他", by="刘洋"), "未知的线索类型：其他"),
    ("clue: empty", clue("  \n", kind="违纪违法线索", by="刘洋"), "线索内容不能为空"),
    ("clue: by the unit's contact", clue("线索", kind="违纪违法线索", by="钱正平"), "“被巡察单位联络员”无权登记问题线索"),
    ("clue: no such clue", lambda t: ["show-clue", "999", "--as", "陶文华"], "线索不存在：999"),
    ("transfer: by a team member", lambda t: ["transfer-now", "1", "--as", "林静"], "无权边巡边移"),
    ("letter: no such letter", lambda t: ["ack-letter", "999", "--code", "123456", "--as", "郑文斌"], "线索移交函不存在：999"),
    ("letter: wrong receiver", lambda t: ["ack-letter", "1", "--code", "123456", "--as", "吴志刚"], "“组织部”无权签收线索移交函"),
    ("result: unknown result", lambda t: ["clue-result", "1", "--result", "不了了之", "--as", "郑文斌"], "未知的办理结果：不了了之"),
    ("result: clue already closed", lambda t: ["clue-result", "2", "--result", "诫勉谈话", "--as", "郑文斌"], "线索2已办结"),
    ("audit: verified by a team member", lambda t: ["verify-audit", "--as", "林静"], "“巡察组组员”无权校验审计日志"),
    ("key: rotated by the leading group", lambda t: ["rotate-key", "--as", "张明"], "无权轮换加密密钥"),
    # Names and texts (models/text.py): separators, control characters, lengths, blanks.
    ("org: unit named like a path", org_yaml("units:\n  - {name: ../../keys, kind: 部门}\n"), "单位名称：不能包含路径分隔符“/”"),
    ("org: unit named by dots", org_yaml("units:\n  - {name: '..', kind: 部门}\n"), "单位名称：不能只由句点组成"),
    ("org: blank unit name", org_yaml("units:\n  - {name: '   ', kind: 部门}\n"), "单位名称：不能为空"),
    ("org: huge unit name", org_yaml(f"units:\n  - {{name: {'局' * 100000}, kind: 部门}}\n"), "单位名称：不能超过50个字"),
    ("org: NUL in a person's name", org_yaml('people:\n  - {name: "林\\x00静"}\n'), "姓名：不能包含控制字符或不可见字符（第2个字符，U+0000）"),
    ("org: escape in a conflict note", org_yaml('conflicts:\n  - {person: 林静, unit: 城东街道, kind: 亲属任职, note: "a\\x1bb"}\n'),
     "说明：不能包含控制字符"),
    ("org sheet: unit named like a path", org_sheet("单位", [["名称", "类型"], ["区/局", "部门"]]), "工作表“单位”第2行：“名称”不能包含路径分隔符“/”"),
    ("org sheet: DEL in a person's name", org_sheet("人员", [["姓名"], ["新人"], ["林\x7f静"]]), "工作表“人员”第3行：“姓名”不能包含控制字符"),
    ("org sheet: C1 in a secretary's contact", org_sheet("单位", [["名称", "类型", "书记联系方式"], ["新单位", "部门", "13\x858"]]),
     "工作表“单位”第2行：“书记联系方式”不能包含控制字符"),
    ("org sheet: long person name", org_sheet("人员", [["姓名"], ["张" * 51]]), "工作表“人员”第2行：“姓名”不能超过50个字"),
    ("findings: escape in a description", findings_csv("问题类别,问题描述\n党的建设,会议\x1b记录缺失\n"), "第2行“问题描述”：不能包含控制字符"),
    ("findings: DEL in evidence", findings_csv("问题类别,问题描述,证据材料\n党的建设,会议记录缺失,a\x7f\n"), "第2行“证据材料”：不能包含控制字符"),
    ("findings: separator-free category with a bell", findings_csv("问题类别,问题描述\n党的\x07建设,会议记录缺失\n"), "第2行“问题类别”：不能包含控制字符"),
    ("round: named like a path", round_yaml("新一轮巡察", "../../x"), "巡察轮次名称：不能包含路径分隔符“/”"),
    ("round: NUL in the name", round_yaml("新一轮巡察", '"新一轮\\x00巡察"'), "巡察轮次名称：不能包含控制字符"),
    ("round: blank name", round_yaml("新一轮巡察", "'   '"), "巡察轮次名称：至少2个字"),
    ("round: huge name", round_yaml("新一轮巡察", "轮" * 101), "巡察轮次名称：不能超过100个字"),
    ("round: unit named like a path", round_yaml("区审计局", "..\\\\审计局"), "被巡察单位·第1项：不能包含路径分隔符“\\”"),
    ("round: team name with a line break", round_yaml("第五巡察组", '"第五\\n巡察组"'), "巡察组名称：不能包含控制字符"),
    # YAML syntax and types in Chinese, with the line (issue 26), never the parser's English.
    ("org: flow mapping not closed", org_yaml("units:\n  - {name: 新单位, kind: 部门\npeople: []\n"), "组织数据文件不是有效的 YAML 格式（第3行"),
    ("org: a tab for indentation", org_yaml("units:\n\t- {name: 新单位, kind: 部门}\n"), "不能用 Tab 键缩进"),
    ("org: a list where a name belongs", org_yaml("units:\n  - {name: [甲, 乙], kind: 部门}\n"), "单位名称：应为一段文字"),
    ("petition: not YAML", petition("渠道: 来信\n内容: {反映问题\n", by="刘洋"), "信访举报登记表不是有效的 YAML 格式（第"),
    ("petition: content a list", petition("渠道: 来信\n内容: [a, b]\n", by="刘洋"), "登记表中“内容”应为一段文字（不能是列表或多项）：第2行"),
    ("petition: NUL in the content", petition('渠道: 来信\n内容: "反映\\x00问题"\n', by="刘洋"), "信访举报内容不能包含控制字符或不可见字符（第3个字符，U+0000）"),
    ("petition: bidi override in the content", petition('渠道: 来信\n内容: "反映\\u202e问题"\n', by="刘洋"), "U+202E"),
    ("petition: isolate in the informant", petition('渠道: 来信\n内容: 反映问题\n举报人: "王\\u2067某"\n', by="刘洋"), "举报人姓名不能包含控制字符"),
    ("petition: negative id", lambda t: ["show-petition", "--as", "陶文华", "--", "-1"], "不存在"),
    ("petition: 23-digit id", lambda t: ["show-petition", "1" * 23, "--as", "陶文华"], "不存在"),
    ("clue: 23-digit id", lambda t: ["show-clue", "9" * 23, "--as", "陶文华"], "不存在"),
    ("findings: 问题描述 twice", findings_csv("问题类别,问题描述,证据材料,问题描述\n党的建设,会议记录缺失,记录本,另一描述\n"),
     "问题清单的表头中“问题描述”出现了不止一次"),
    ("round: YAML syntax", round_yaml("teams:\n", "teams: [\n"), "不是有效的 YAML 格式（第"),
]


@pytest.fixture
def office(cli_home: Path) -> Path:
    """The demo county, a round in 集中巡察, clue 1 transferred (not signed for), clue 2 closed."""
    assert CliRunner().invoke(app, ["load-org"]).exit_code == 0
    login("陶文华")  # the office's clerk at the terminal, unless a case names someone else
    with Session(get_engine()) as s:
        _, insps = make_round(s)
        iid = insps[0].id or 0
        settings = get_settings()
        advance(s, settings, iid, Stage.STATIONING, link=LINK)
        s.commit()
        for summary in ("第一件", "第二件"):
            cid = clues.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary=summary, now=NOW).id
            clues.transfer_urgent(session=s, settings=settings, by="陶文华", clue_id=cid or 0, now=NOW, link=LINK)
        letter = s.exec(select(ClueLetter).where(ClueLetter.batch == "urgent-2")).one()
        clues.acknowledge(session=s, settings=settings, by="郑文斌", letter_id=letter.id or 0, code=letter_code(s, letter.id or 0), now=NOW)
        clues.report_result(session=s, settings=settings, by="郑文斌", clue_id=2, result="党纪政务处分", note="", now=NOW)
    return cli_home


def test_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30 and len({c for c, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("case", "argv", "message"), CASES, ids=[c for c, _, _ in CASES])
def test_bad_input_is_refused_clearly_and_writes_nothing(office: Path, tmp_path: Path, case: str,
                                                         argv: Callable[[Path], list[str]], message: str) -> None:
    args = as_person(argv(tmp_path))
    with Session(get_engine()) as s:
        before = row_counts(s)
        last_audit = s.exec(select(AuditEvent.id).order_by(col(AuditEvent.id).desc())).first()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (case, result.output, result.exception)
    assert message in result.output, (case, result.output)
    assert re.search(r"[\u4e00-\u9fff]", result.output) and not ENGLISH.search(result.output), result.output
    with Session(get_engine()) as s:
        after = row_counts(s)
        new_audit = s.exec(select(AuditEvent).where(col(AuditEvent.id) > (last_audit or 0))).all()
    assert after.pop("audit_event") == before.pop("audit_event") + len(new_audit)
    assert after == before, case
    assert all(e.action.endswith("（被拒绝）") for e in new_audit) and len(new_audit) <= 1, [e.action for e in new_audit]


@pytest.mark.parametrize("written", ["匿名", "（匿名）", "不愿透露"])
def test_an_informant_written_as_anonymous_is_recorded_anonymous(office: Path, tmp_path: Path, written: str) -> None:
    """“举报人: 匿名” names no one: the petition is anonymous, no identity is encrypted for it."""
    from models.tables import Petition

    args = as_person(petition(f"渠道: 来信\n内容: 反映某站所长优亲厚友\n举报人: {written}\n", by="刘洋")(tmp_path))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0 and "（匿名）" in result.output, result.output
    with Session(get_engine()) as s:
        row = s.exec(select(Petition).order_by(col(Petition.id).desc())).first()
        assert row is not None and row.anonymous and row.informant_enc == ""
