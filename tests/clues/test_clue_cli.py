"""The clue commands as office staff and receivers use them: every call names its person, the
role is checked on each call, and confidential text comes from files or standard input."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select
from typer.testing import CliRunner

from deployments.cli.main import app
from models.db import get_engine
from models.enums import Stage
from models.settings import get_settings
from models.tables import AuditEvent, ClueLetter, Petition
from tests.conftest import LINK
from tests.support.advance import advance
from tests.support.cli import as_person
from tests.support.factories import letter_code, make_round


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, as_person(args), input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_petition_to_closed_clue_from_the_command_line(cli_home: Path, tmp_path: Path) -> None:
    assert run("load-org")[0] == 0
    with Session(get_engine()) as s:
        rnd, insps = make_round(s)
        iid = insps[0].id or 0
        advance(s, get_settings(), iid, Stage.STATIONING, link=LINK)
        s.commit()
        round_name = rnd.name
    where = ["--round", round_name, "--unit", "城东街道"]

    form = tmp_path / "来信.yaml"
    form.write_text("渠道: 来信\n内容: 反映某站所长优亲厚友\n举报人: 赵某\n联系方式: 13700000000\n", encoding="utf-8")
    code, out = run("add-petition", *where, str(form), "--as", "刘洋")
    assert code == 0 and "已受理信访举报，编号 1（举报人身份已加密保存）" in out, out
    bad = tmp_path / "bad.yaml"
    bad.write_text("渠道: 来信\n内容: x\n密级: 绝密\n", encoding="utf-8")
    assert run("add-petition", *where, str(bad), "--as", "刘洋") == (2, "登记表中有无法识别的项：密级\n")
    assert run("add-petition", *where, str(form), "--as", "钱正平")[0] == 2  # the unit's contact may not

    code, out = run("show-petition", "1", "--informant", "--as", "刘洋")
    assert code == 2 and "“巡察组组员”无权查阅举报人身份" in out
    code, out = run("show-petition", "1", "--informant", "--as", "李建国")
    assert code == 0 and "举报人：赵某" in out and "联系方式：13700000000" in out
    assert "匿名：否" in out and "False" not in out

    code, out = run("petition-to-clue", "1", "--kind", "违纪违法线索", "--as", "李建国", stdin="某站所长涉嫌违规安排亲属\n")
    assert code == 0 and "已转为线索，编号 1" in out, out
    code, out = run("add-clue", *where, "--kind", "行业领域问题", "--as", "刘洋", stdin="某工程转包\n")
    assert code == 0 and "编号 2" in out

    code, out = run("transfer-now", "1", "--as", "刘洋")
    assert code == 2 and "无权边巡边移" in out
    code, out = run("transfer-now", "1", "--as", "陶文华")
    assert code == 0 and "已移交" in out, out
    code, out = run("clues", "--as", "陶文华")
    assert code == 0 and "纪委监委" in out and "违规安排亲属" not in out and "转包" not in out
    code, out = run("show-clue", "1", "--as", "吴志刚")  # 组织部: not its kind, not routed to it
    assert code == 2 and "无权查阅该线索" in out
    code, out = run("show-clue", "1", "--as", "郑文斌")
    assert code == 0 and "内容：某站所长涉嫌违规安排亲属" in out

    with Session(get_engine()) as s:
        letter_id = s.exec(select(ClueLetter.id)).one()
    assert run("clue-result", "1", "--result", "立案审查调查", "--as", "郑文斌")[1].strip() == "线索1的移交函尚未签收，请先签收"
    with Session(get_engine()) as s:
        sign = letter_code(s, letter_id or 0)
    wrong = f"{(int(sign) + 1) % 10**6:06d}"
    assert run("ack-letter", str(letter_id), "--code", wrong, "--as", "郑文斌") == (2, "签收码不正确\n")
    code, out = run("ack-letter", str(letter_id), "--code", sign, "--as", "郑文斌")
    assert code == 0 and "已签收移交函，线索1件" in out
    note = tmp_path / "办理情况.txt"
    note.write_text("经初核，问题属实，已立案。", encoding="utf-8")
    code, out = run("clue-result", "1", "--result", "立案审查调查", "--note-file", str(note), "--as", "郑文斌")
    assert code == 0 and "线索办结" in out
    assert run("clue-result", "1", "--result", "诫勉谈话", "--as", "郑文斌")[0] == 2

    with Session(get_engine()) as s:
        before = s.exec(select(Petition.informant_enc)).one()
    code, out = run("rotate-key", "--as", "刘洋")
    assert code == 2 and "无权轮换加密密钥" in out
    code, out = run("rotate-key", "--as", "陶文华")
    assert code == 0 and "重新加密1条" in out
    with Session(get_engine()) as s:
        assert s.exec(select(Petition.informant_enc)).one() != before
        refused = [e.actor for e in s.exec(select(AuditEvent)) if e.action.endswith("（被拒绝）")]
    assert refused == ["钱正平", "刘洋", "刘洋", "吴志刚", "郑文斌", "郑文斌", "郑文斌", "刘洋"]  # a malformed form is not an attempt
    assert run("show-petition", "1", "--informant", "--as", "陶文华")[1].count("赵某") == 1  # still readable
    # A 组员 and a 组长 with no team in this round: refused, audited, nothing written.
    code, out = run("add-petition", *where, str(form), "--as", "林静")
    assert code == 2 and "“巡察组组员”无权对该单位登记信访举报：该单位不由您所在的巡察组巡察" in out, out
    code, out = run("show-petition", "1", "--informant", "--as", "周卫东")
    assert code == 2 and "该单位不由您所在的巡察组巡察" in out and "赵某" not in out
    code, out = run("show-clue", "2", "--as", "周卫东")
    assert code == 2 and "转包" not in out
    with Session(get_engine()) as s:
        assert len(s.exec(select(Petition)).all()) == 1
        refused = [e.actor for e in s.exec(select(AuditEvent)) if e.action.endswith("（被拒绝）")]
    assert refused[-3:] == ["林静", "周卫东", "周卫东"]
    assert run("verify-audit", "--as", "陶文华")[0] == 0


def test_inbox_shows_the_code_sent_to_a_role(cli_home: Path) -> None:
    cli_home.mkdir(parents=True, exist_ok=True)
    (cli_home / "inbox.jsonl").write_text(
        '{"path": "/office", "title": "【提醒】", "message": "给巡察办"}\n'
        '{"path": "/leading-group", "title": "【待审批】方案及组成人员审批", "message": "验证码：123456"}\n', encoding="utf-8")
    code, out = run("inbox", "--to", "leading-group")
    assert code == 0 and "验证码：123456" in out and "给巡察办" not in out


def test_findings_imported_twice_then_corrected_and_withdrawn_from_the_command_line(cli_home: Path, tmp_path: Path) -> None:
    from models.tables import Finding
    from tests.support.factories import sheet_rows, write_sheet

    assert run("load-org")[0] == 0
    with Session(get_engine()) as s:
        rnd, insps = make_round(s)
        advance(s, get_settings(), insps[0].id or 0, Stage.STATIONING, link=LINK)
        s.commit()
        round_name = rnd.name
    where = ["--round", round_name, "--unit", "城东街道"]
    sheet = str(write_sheet(tmp_path / "问题清单.xlsx", sheet_rows(3)))
    assert run("import-findings", sheet, *where, "--as", "刘洋") == (0, "已导入3个问题（编号 1–3）。\n")
    assert run("import-findings", sheet, *where, "--as", "刘洋") == (
        0, "已导入0个问题；另有3个此前已登记，未重复导入（如需修改请用 correct-finding）。\n")
    code, out = run("findings", *where)
    assert code == 0 and out.splitlines()[0].startswith("编号\t问题类别") and len(out.splitlines()) == 4

    code, out = run("correct-finding", "2", "--field", "问题描述=公务用车管理不规范，存在私车公养", "--field", "立行立改=否",
                    "--as", "刘洋")
    assert (code, out) == (0, "已更正问题2：问题描述、立行立改。\n"), out
    assert run("correct-finding", "2", "--field", "问题描述", "--as", "刘洋") == (2, "--field 应写成 字段=新内容，实为“问题描述”\n")
    code, out = run("correct-finding", "2", "--field", "问题描述=x", "--as", "林静")  # 组员 of no team in this round
    assert code == 2 and "该单位不由您所在的巡察组巡察" in out
    code, out = run("withdraw-finding", "3", "--reason", "误登", "--as", "刘洋")
    assert code == 2 and "“巡察组组员”无权撤回巡察发现的问题" in out
    assert run("withdraw-finding", "3", "--reason", "误登", "--as", "李建国") == (0, "已撤回问题3。\n")
    with Session(get_engine()) as s:
        rows = {f.id: f for f in s.exec(select(Finding))}
        assert sorted(rows) == [1, 2] and rows[2].description == "公务用车管理不规范，存在私车公养" and not rows[2].fixed_on_site
        actions = [e.action for e in s.exec(select(AuditEvent))]
    assert actions.count("更正问题") == 1 and actions.count("撤回问题") == 1
    assert actions.count("更正问题（被拒绝）") == 1 and actions.count("撤回问题（被拒绝）") == 1
    assert run("verify-audit", "--as", "陶文华")[0] == 0
