"""Excel lists (五清单) and the statistics commands: the workbook reopened with openpyxl has the
office's headers and one row per problem or item; bad names give a Chinese error and no file."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlmodel import Session, select
from typer.testing import CliRunner

from deployments.cli.main import app
from models.db import get_engine
from models.enums import Stage
from models.errors import DomainError
from models.settings import Settings, get_settings
from models.tables import Finding, Inspection, Person, RectificationItem, Unit
from tasks.records.exports import (
    PROBLEMS,
    PROGRESS,
    RESPONSIBILITIES,
    SHEET_NAMES,
    TASKS,
    export_lists,
)
from tests.conftest import LINK
from tests.support.advance import advance
from tests.support.bulk import insert_year
from tests.support.cli import login
from tests.support.factories import finding, make_round, sample_findings

ROUND = "2026年第一轮巡察"
AS_OF = date(2027, 6, 1)


def to_rectification(s: Session, settings: Settings) -> list[Inspection]:
    """The default round of tests/support/factories through feedback into rectification, 3 findings per unit."""
    _, inspections = make_round(s)
    for insp in inspections:
        advance(s, settings, insp.id or 0, Stage.RECTIFICATION, findings=sample_findings(), link=LINK)
    s.commit()
    return inspections


def sheet(path: Path, name: str) -> list[list[Any]]:
    wb = load_workbook(path)
    return [list(r) for r in wb[name].iter_rows(values_only=True)]


def test_lists_of_a_round(demo_org: Session, settings: Settings, tmp_path: Path) -> None:
    s = demo_org
    to_rectification(s, settings)
    path = tmp_path / "清单.xlsx"
    counts = export_lists(session=s, round_name=ROUND, unit_name=None, path=path, as_of=AS_OF)
    assert counts == {"problems": 9, "items": 6}  # 立行立改 problems get no item
    wb = load_workbook(path)
    assert wb.sheetnames == list(SHEET_NAMES)
    for name, columns in (("问题清单", PROBLEMS), ("任务清单", TASKS), ("责任清单", RESPONSIBILITIES),
                          ("整改进展台账", PROGRESS)):
        ws = wb[name]
        assert [c.value for c in ws[1]] == [c.title for c in columns], name
        assert all(c.font.bold for c in ws[1]) and ws.freeze_panes == "A2"
        assert ws.column_dimensions["E"].width >= 10
    problems = sheet(path, "问题清单")
    assert [r[0] for r in problems[1:]] == list(range(1, 10))
    assert {r[1] for r in problems[1:]} == {"城东街道", "区教育局", "区交通投资集团"}
    assert sum(r[5] == "是" for r in problems[1:]) == 3
    assert all(isinstance(r[6], datetime) and isinstance(r[7], datetime) for r in problems[1:])  # dates, not text
    progress = sheet(path, "整改进展台账")
    header = progress[0]
    rows = [dict(zip(header, r, strict=True)) for r in progress[1:]]
    assert len(rows) == 6 and {r["整改状态"] for r in rows} == {"未开始"}
    assert all(isinstance(r["完成时限"], datetime) for r in rows)
    assert {r["是否逾期"] for r in rows} == {"是"}  # deadline 2027-01-30 < 2027-06-01
    # Individual problems are supervised by the unit's liaison leader, who also leads them.
    liaison = {u.name: s.get(Person, u.liaison_leader_id).name  # type: ignore[union-attr]
               for u in s.exec(select(Unit)) if u.liaison_leader_id}
    duty = sheet(path, "责任清单")
    for r in duty[1:]:
        if r[2] != "选人用人":  # the common problem of sample_findings
            assert r[4] == liaison.get(r[1], "") and r[6] == liaison.get(r[1], "")
    summary = sheet(path, "汇总")
    assert summary[0][:4] == ["被巡察单位", "单位类型", "巡察组", "所处阶段"] and len(summary) == 4
    assert {r[0]: (r[4], r[8], r[9]) for r in summary[1:]} == {
        u: (3, 0, "0.00%") for u in ("城东街道", "区教育局", "区交通投资集团")}


def test_lists_of_one_unit_in_a_year_of_rounds(demo_org: Session, tmp_path: Path) -> None:
    s = demo_org
    year = insert_year(s)
    round_name = "2026年第4轮巡察"
    (unit_name, iid) = s.execute(text(
        "SELECT u.name, i.id FROM inspection i JOIN unit u ON u.id = i.unit_id "
        f"WHERE i.round_id = {year['rounds'][round_name]} AND i.stage = '督促整改' ORDER BY u.name")).first()  # type: ignore[misc]
    path = tmp_path / "单位.xlsx"
    counts = export_lists(session=s, round_name=round_name, unit_name=unit_name, path=path, as_of=AS_OF)
    n_findings = s.execute(text(f"SELECT COUNT(*) FROM finding WHERE inspection_id = {iid}")).scalar_one()
    items = s.exec(select(RectificationItem).where(RectificationItem.inspection_id == iid)).all()
    assert counts == {"problems": n_findings, "items": len(items)}
    progress = sheet(path, "整改进展台账")
    header = progress[0]
    rows = [dict(zip(header, r, strict=True)) for r in progress[1:]]
    assert len(rows) == len(items) and {r["被巡察单位"] for r in rows} == {unit_name}
    closed = [r for r in rows if r["整改状态"] == "已销号"]
    assert len(closed) == sum(i.status == "已销号" for i in items)
    assert all(isinstance(r["销号日期"], datetime) and r["是否逾期"] == "否" for r in closed)
    assert sum(r["建章立制"] for r in rows) == sum(i.rules_made for i in items)


def test_every_item_sheet_carries_the_item_numbers(demo_org: Session, settings: Settings, tmp_path: Path) -> None:
    """The numbers the unit names its items by (报送整改方案/进展, the 整改通知书), per row."""
    s = demo_org
    inspections = to_rectification(s, settings)
    path = tmp_path / "清单.xlsx"
    export_lists(session=s, round_name=ROUND, unit_name="城东街道", path=path, as_of=AS_OF)
    expected = {i.id: (s.get(Finding, i.finding_id).description, i.deadline)  # type: ignore[union-attr]
                for i in s.exec(select(RectificationItem).where(RectificationItem.inspection_id == inspections[0].id))}
    assert len(expected) == 2
    for name in ("任务清单", "责任清单", "整改进展台账"):
        rows = sheet(path, name)
        assert rows[0][-1] == "整改事项编号", name
        lines = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
        assert {r["整改事项编号"]: (r["问题描述"], r["完成时限"].date()) for r in lines} == expected, name


@pytest.mark.parametrize(("round_name", "unit_name", "file", "message"), [
    ("不存在的轮次", None, "a.xlsx", "未知的巡察轮次：不存在的轮次"),
    (ROUND, "不存在的单位", "a.xlsx", "未知的被巡察单位：不存在的单位"),
    (ROUND, "马岙村", "a.xlsx", "马岙村 不在 2026年第一轮巡察 的巡察范围内"),
    (ROUND, None, "a.csv", "导出文件名应以 .xlsx 结尾：a.csv"),
])
def test_bad_names_write_no_file(demo_org: Session, tmp_path: Path, round_name: str, unit_name: str | None,
                                 file: str, message: str) -> None:
    make_round(demo_org)
    with pytest.raises(DomainError, match=message):
        export_lists(session=demo_org, round_name=round_name, unit_name=unit_name, path=tmp_path / file, as_of=AS_OF)
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]


@pytest.fixture
def office(cli_home: Path) -> Path:
    assert CliRunner().invoke(app, ["load-org"]).exit_code == 0
    login("陶文华")  # the office's clerk at the terminal
    with Session(get_engine()) as s:
        to_rectification(s, get_settings())
    return cli_home


def test_commands(office: Path, tmp_path: Path) -> None:
    run = CliRunner().invoke
    out = run(app, ["export-lists", "--round", ROUND, "--unit", "区教育局", str(tmp_path / "教育局.xlsx")])
    assert out.exit_code == 0 and "问题3个，整改事项2项" in out.output, out.output
    stats = run(app, ["stats", "--by", "单位"])
    assert stats.exit_code == 0, stats.output
    lines = [line.split("\t") for line in stats.output.splitlines()]
    assert lines[0] == ["单位", "发现问题", "反馈问题", "立行立改", "整改事项", "整改到位", "整改到位率", "移交线索",
                        "立案", "处分处理人数", "建章立制", "预计完成"]
    assert ["区教育局", "3", "3", "1", "2", "0", "0.00%", "0", "0", "0", "0", "尚未报送进展"] in lines
    for by in ("轮次", "巡察组", "年度"):
        assert run(app, ["stats", "--by", by, "--year", "2026"]).exit_code == 0
    teams = run(app, ["evaluate-teams", "--round", ROUND, "--people"])
    assert teams.exit_code == 0, teams.output
    assert "组长\t被巡察单位数\t发现问题\t线索数" in teams.output and "第一巡察组\t李建国\t3\t9\t0" in teams.output
    assert "李建国\t1\t1\t9\t0\t6\t0\t0.00%" in teams.output
    charts = run(app, ["charts", "--round", ROUND, str(tmp_path / "图表")])
    assert charts.exit_code == 0 and len(list((tmp_path / "图表").glob("*.png"))) == 3, charts.output


BAD_COMMANDS = [
    (["export-lists", "--round", "无此轮次", "{tmp}/x.xlsx"], "未知的巡察轮次：无此轮次"),
    (["export-lists", "--round", ROUND, "--unit", "马岙村", "{tmp}/x.xlsx"], "马岙村 不在"),
    (["export-lists", "--round", ROUND, "{tmp}/x.csv"], "导出文件名应以 .xlsx 结尾"),
    (["charts", "--round", "无此轮次", "{tmp}/图表"], "未知的巡察轮次：无此轮次"),
    (["stats", "--year", "二〇二六"], "年度应为四位数字"),
    (["stats", "--by", "季度"], "统计口径应为"),
    (["evaluate-teams", "--round", ROUND, "--year", "2026"], "--round 与 --year 只能选一个"),
    (["evaluate-teams", "--round", "无此轮次"], "未知的巡察轮次：无此轮次"),
]


def test_command_bad_input(cli_home: Path, tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["load-org"]).exit_code == 0
    login("陶文华")
    with Session(get_engine()) as s:
        make_round(s)
    out = tmp_path / "out"
    out.mkdir()
    for argv, message in BAD_COMMANDS:
        result = CliRunner().invoke(app, [a.replace("{tmp}", str(out)) for a in argv])
        assert result.exit_code == 2 and message in result.output, (argv, result.output)
        assert list(out.iterdir()) == [], argv


HOSTILE = ("=cmd|' /C calc'!A0", '=HYPERLINK("http://127.0.0.1/x","点此")', "+1+1", "-2+3", "@SUM(A1:A2)")


def assert_text_cells(path: Path, expected: tuple[str, ...]) -> None:
    """No cell of the workbook is a formula; each hostile text is a text cell marked quote-prefixed."""
    wb = load_workbook(path)
    seen: set[str] = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value in expected:
                    assert cell.data_type == "s" and cell.quotePrefix, (ws.title, cell.coordinate)
                    seen.add(cell.value)
    assert seen == set(expected)


def test_formula_text_in_findings_is_exported_as_text(demo_org: Session, settings: Settings, tmp_path: Path) -> None:
    """Findings typed as formulas (from a hostile findings sheet) come out as text, and a control
    character stored earlier is replaced instead of breaking the export."""
    s = demo_org
    _, inspections = make_round(s)
    insp = inspections[0]
    fids = advance(s, settings, insp.id or 0, Stage.STATIONING, link=LINK, findings=[
        *(finding(h) for h in HOSTILE), finding("含控制字符的问题")]).finding_ids
    s.commit()
    s.execute(text("UPDATE finding SET description = :d WHERE id = :id"), {"d": "含\x00控制\x07字符", "id": fids[-1]})
    s.commit()
    path = tmp_path / "清单.xlsx"
    export_lists(session=s, round_name=ROUND, unit_name=None, path=path, as_of=AS_OF)
    assert_text_cells(path, HOSTILE)
    problems = sheet(path, "问题清单")
    assert "含\ufffd控制\ufffd字符" in {v for r in problems[1:] for v in r}
