"""The talk and evaluation commands as a team member and the office use them: confidential text
from a file or standard input only, the role table checked at the door and the team's reach by
the domain, Chinese messages for bad input."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from sqlmodel import Session, select
from typer.testing import CliRunner

from deployments.cli.main import app
from models.db import get_engine
from models.enums import Stage
from models.settings import get_settings
from models.tables import AuditEvent, TalkRecord
from tests.conftest import LINK
from tests.support.advance import advance
from tests.support.cli import as_person
from tests.support.factories import make_round

SECRET = "哨兵-谈话命令-41C0"


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, as_person(args), input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_talks_and_evaluations_from_the_command_line(cli_home: Path, tmp_path: Path) -> None:
    assert run("load-org")[0] == 0
    with Session(get_engine()) as s:
        rnd, insps = make_round(s)
        advance(s, get_settings(), insps[0].id or 0, Stage.STATIONING, link=LINK)
        s.commit()
        round_name = rnd.name
    where = ["--round", round_name, "--unit", "城东街道"]

    plan = tmp_path / "安排.yaml"
    plan.write_text("谈话对象: 张某\n职务: 副主任\n谈话事由: 了解“三重一大”执行情况\n", encoding="utf-8")
    code, out = run("plan-talk", *where, "--talker", "刘洋", "--date", "2026-12-01", str(plan), "--as", "李建国")
    assert (code, out) == (0, "已安排个别谈话，编号 1（谈话对象和事由已加密保存）。\n"), out
    assert run("plan-talk", *where, "--talker", "刘洋", "--date", "12月1日", str(plan), "--as", "李建国") == (
        2, "日期“12月1日”的写法不对，应为“2026-12-10”这样的年-月-日\n")
    # The record's text from standard input; the plan gives the person.
    code, out = run("add-talk", *where, "--talker", "刘洋", "--date", "2026-12-01", "--plan", "1", "-", "--as", "刘洋",
                    stdin=f"谈话内容: 反映工程发包未经集体研究 {SECRET}\n")
    assert (code, out) == (0, "已登记谈话记录，编号 1（谈话对象和内容已加密保存）。\n"), out
    bad = tmp_path / "bad.yaml"
    bad.write_text("谈话内容: x\n密级: 绝密\n", encoding="utf-8")
    assert run("add-talk", *where, "--talker", "刘洋", "--date", "2026-12-01", str(bad), "--as", "刘洋") == (
        2, "登记表中有无法识别的项：密级\n")

    code, out = run("talks", *where, "--as", "陈晓梅")
    assert code == 0 and out.splitlines() == ["谈话安排\t谈话人\t日期\t谈话记录", "1\t刘洋\t2026-12-01\t1"] and SECRET not in out
    code, out = run("show-talk", "1", "--as", "陶文华")
    assert code == 0 and "谈话对象：张某" in out and SECRET in out and "谈话事由：了解“三重一大”执行情况" in out
    code, out = run("show-talk", "1", "--plan", "--as", "刘洋")
    assert code == 0 and "谈话对象：张某" in out
    # Refused at the door by role, or by the domain for another team.
    for name in ("张明", "吴志刚", "钱正平"):
        code, out = run("show-talk", "1", "--as", name)
        assert code == 2 and "无权查阅谈话安排和谈话记录" in out and SECRET not in out, (name, out)
    code, out = run("show-talk", "1", "--as", "周卫东")
    assert code == 2 and "该单位不由您所在的巡察组巡察" in out and SECRET not in out
    with Session(get_engine()) as s:
        assert len(s.exec(select(TalkRecord)).all()) == 1
        assert [e.actor for e in s.exec(select(AuditEvent).where(AuditEvent.action == "查阅谈话记录"))] == ["陶文华"]

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "民主测评"
    for row in (["被巡察单位", "测评项目", "好", "较好", "一般", "差"], ["城东街道", "领导班子总体评价", 30, 12, 3, 1]):
        ws.append(row)
    sheet = tmp_path / "测评.xlsx"
    wb.save(sheet)
    assert run("import-evaluations", str(sheet), "--round", round_name, "--as", "刘洋") == (0, "已导入：城东街道1项。\n")
    assert run("import-evaluations", str(sheet), "--round", round_name, "--as", "吴志刚")[0] == 2
    code, out = run("evaluations", *where, "--as", "李建国")
    assert code == 0 and out.splitlines()[1] == "民主测评\t领导班子总体评价\t46\t好30人，较好12人，一般3人，差1人\t"
