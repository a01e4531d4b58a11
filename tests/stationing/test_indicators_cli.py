"""The indicator commands as the office and a team use them: import (the 示例 sample, a workbook),
export, examine, coverage; `stats --by 巡察组考评|巡察干部` and the pools' view; each role checked."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import Session, select
from typer.testing import CliRunner

from deployments.cli.main import app
from models.db import get_engine
from models.enums import Stage
from models.settings import get_settings
from models.tables import AuditEvent
from tests.conftest import LINK
from tests.support.advance import advance
from tests.support.cli import as_person
from tests.support.factories import finding, make_round


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, as_person(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_library_examination_coverage_and_team_figures(cli_home: Path, tmp_path: Path) -> None:
    assert run("load-org")[0] == 0
    with Session(get_engine()) as s:
        rnd, insps = make_round(s)
        advance(s, get_settings(), insps[0].id or 0, Stage.STATIONING, link=LINK,
                findings=[finding("“三重一大”事项未经集体研究")])
        s.commit()
        where = ["--round", rnd.name, "--unit", "城东街道"]

    code, out = run("import-indicators", "--sample", "--as", "李建国")
    assert code == 2 and "“巡察组组长”无权维护巡察指标库" in out
    code, out = run("import-indicators", "--sample", "--as", "陶文华")
    assert code == 0 and "新增10项" in out and "不是官方指标清单" in out, out
    code, out = run("indicators", "--as", "刘洋")
    assert code == 0 and "“三重一大”集体决策（示例）" in out and "全部" in out

    book = tmp_path / "指标库.xlsx"
    assert run("export-indicators", str(book), "--as", "张明")[0] == 0
    assert load_workbook(book).active.max_row == 11  # type: ignore[union-attr]

    code, out = run("examine", *where, "--indicator", "“三重一大”集体决策（示例）", "--method", "个别谈话、查阅资料",
                    "--finding", "1", "--note", "查阅党委会记录", "--as", "刘洋")
    assert code == 0 and "指标覆盖：已核查 1/" in out and "关联问题 1/1 个" in out, out
    code, out = run("examine", *where, "--indicator", "干部选拔任用", "--method", "个别谈话", "--as", "林静")
    assert code == 2 and "不由您所在的巡察组巡察" in out
    with Session(get_engine()) as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "登记指标核查情况（被拒绝）", AuditEvent.actor == "林静")).first()

    code, out = run("indicator-coverage", "--round", rnd.name, "--as", "李建国")
    assert code == 0 and "【" + rnd.name + "·城东街道】" in out and "未使用的巡察方法：问卷调查" in out
    assert run("indicator-coverage", "--round", rnd.name, "--as", "钱正平")[0] == 2

    code, out = run("stats", "--by", "巡察组考评", "--as", "张明")
    assert code == 0 and "指标覆盖" in out and "每单位问题数" in out and "报告退回次数" in out, out
    code, out = run("stats", "--by", "巡察干部", "--as", "陶文华")
    assert code == 0 and "刘洋" in out and "任组长次数" in out and "为其所在巡察组的合计" in out
    assert run("stats", "--by", "巡察组考评", "--as", "李建国")[0] == 2
    code, out = run("pools", "--as", "陶文华")
    assert code == 0 and "指标覆盖" in out and "报告退回" in out
