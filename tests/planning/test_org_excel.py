"""Org data as Excel: export → import round-trips the demo county; every bad row is listed with its
sheet and row number and nothing is written; the CLI loads and exports workbooks."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import Session, select
from typer.testing import CliRunner

from deployments.cli.main import app
from models.db import get_engine
from models.errors import DomainError
from models.settings import Settings
from models.tables import Conflict, Person, RoleRecipient, Unit
from tasks.planning.org import load_org, mask_address, read_org_file
from tasks.planning.org_excel import read_org_excel, write_org_excel
from tests.conftest import DEMO_ORG
from tests.support.cli import login
from tests.support.factories import database, row_counts


def org_snapshot(session: Session) -> dict[str, Any]:
    """Units, people, conflicts and recipients by name, independent of row ids."""
    session.expire_all()
    units = {u.id: u for u in session.exec(select(Unit))}
    people = {p.id: p for p in session.exec(select(Person))}
    return {
        "units": sorted(
            (u.name, u.kind, u.area, u.secretary_name, u.secretary_contact,
             people[u.liaison_leader_id].name if u.liaison_leader_id else None)
            for u in units.values()
        ),
        "people": sorted(
            (p.name, units[p.unit_id].name if p.unit_id else None, p.title, tuple(p.specialties),
             tuple(p.pools), p.contact, p.available)
            for p in people.values()
        ),
        "conflicts": sorted(
            (people[c.person_id].name, units[c.unit_id].name, c.kind, c.note) for c in session.exec(select(Conflict))
        ),
        "recipients": sorted((r.role, r.url) for r in session.exec(select(RoleRecipient))),
    }


def sheet_values(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    wb = load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def write_workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    wb = Workbook()
    default = wb.active
    assert default is not None
    wb.remove(default)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


@pytest.fixture
def demo_xlsx(demo_org: Session, tmp_path: Path) -> Path:
    """The demo county exported from the database, addresses in full (they load anywhere)."""
    path = tmp_path / "county.xlsx"
    write_org_excel(demo_org, path, addresses=True)
    return path


# ---------------------------------------------------------------- round trip


def test_export_then_import_round_trips_the_demo_county(demo_org: Session, demo_xlsx: Path, tmp_path: Path) -> None:
    assert list(sheet_values(demo_xlsx)) == ["单位", "人员", "回避", "接收人", "用户"]
    # The parsed workbook is the parsed YAML, entry for entry.
    assert read_org_file(demo_xlsx) == read_org_file(DEMO_ORG)

    with database(tmp_path / "fresh", demo=False) as fresh:
        counts = load_org(session=fresh, data=read_org_file(demo_xlsx))
        fresh.commit()
        assert counts == {"units": 16, "people": 15, "conflicts": 4, "accounts": 20}
        assert org_snapshot(fresh) == org_snapshot(demo_org)
        assert len(org_snapshot(fresh)["recipients"]) == 6
        again = tmp_path / "again.xlsx"
        write_org_excel(fresh, again, addresses=True)
    assert sheet_values(again) == sheet_values(demo_xlsx)


def test_export_layout(demo_xlsx: Path) -> None:
    sheets = sheet_values(demo_xlsx)
    assert sheets["单位"][0] == ("名称", "类型", "片区", "党组织书记", "书记联系方式", "联系领导", "重点关注")
    assert sheets["单位"][5] == ("区财政局", "部门", "机关", "蒋立新", "json://127.0.0.1:8765/unit/caizheng", "郑文斌", None)
    assert sheets["人员"][0] == ("姓名", "所在单位", "职务", "专长", "人才库", "联系方式", "可用")
    assert sheets["人员"][5] == ("陈晓梅", "区审计局", "审计科长", "审计、财务", "组长库、人才库", None, "是")
    assert sheets["回避"][0] == ("人员", "单位", "回避类型", "说明", "离开年份")
    assert sheets["回避"][1] == ("王海燕", "区财政局", "原工作单位", "2022年前在该局工作", None)
    assert sheets["接收人"][1] == ("巡察办", "json://127.0.0.1:8765/office")


def test_loading_an_export_again_adds_no_rows(demo_org: Session, demo_xlsx: Path) -> None:
    before = row_counts(demo_org)
    load_org(session=demo_org, data=read_org_file(demo_xlsx))
    demo_org.commit()
    assert row_counts(demo_org) == before


def test_text_that_looks_like_a_formula_stays_text(demo_org: Session, tmp_path: Path) -> None:
    wang = demo_org.exec(select(Person).where(Person.name == "王海燕")).one()
    wang.title = "=审计员+1"
    demo_org.add(wang)
    demo_org.commit()
    path = tmp_path / "county.xlsx"
    write_org_excel(demo_org, path)
    data = read_org_excel(path)
    assert next(p for p in data.people if p.name == "王海燕").title == "=审计员+1"


def test_hand_typed_workbook(session: Session, tmp_path: Path) -> None:
    """Cells as office staff type them: numbers, TRUE/FALSE, mixed separators, blank rows,
    English role names, unavailable people, missing optional columns and sheets."""
    path = write_workbook(tmp_path / "hand.xlsx", {
        "单位": [["名称", "类型", "联系领导"], ["区统计局", "部门", "何大伟"], [None, None, None], [" 区档案馆 ", "部门", None]],
        "人员": [
            ["姓名", "所在单位", "专长", "人才库", "联系方式", "可用"],
            ["何大伟", None, None, None, 13800000000, None],
            ["许小红", "区统计局", "统计，财务;审计\n工程", "人才库, 组长库、人才库", None, "否"],
            ["严明", "区档案馆", "档案", "", None, False],
        ],
        "接收人": [["角色", "地址"], ["office", "mailto://office@example.org"], ["纪委监委", "json://127.0.0.1:1/jw"],
                 ["巡察办", "json://127.0.0.1:1/office"], ["巡察办", "json://127.0.0.1:1/office"]],
    })
    data = read_org_file(path)
    assert [u.name for u in data.units] == ["区统计局", "区档案馆"]
    he, xu, yan = data.people
    assert (he.unit, he.contact, he.available) == (None, "13800000000", True)
    assert xu.specialties == ["统计", "财务", "审计", "工程"]
    assert [p.value for p in xu.pools] == ["人才库", "组长库"]
    assert (xu.available, yan.available) == (False, False)
    assert {r.value: urls for r, urls in data.recipients.items()} == {
        "office": ["mailto://office@example.org", "json://127.0.0.1:1/office"],
        "discipline_commission": ["json://127.0.0.1:1/jw"],
    }
    assert data.conflicts == []
    load_org(session=session, data=data)
    session.commit()
    assert row_counts(session)["unit"] == 2
    assert row_counts(session)["rolerecipient"] == 3


def test_only_some_sheets(demo_org: Session, tmp_path: Path) -> None:
    """A workbook with just the recipients makes the roles it lists have exactly its addresses
    (组织部's old one is replaced), and leaves other roles, units and people alone."""
    before = org_snapshot(demo_org)
    path = write_workbook(tmp_path / "recipients.xlsx", {"接收人": [["角色", "地址"], ["组织部", "json://127.0.0.1:1/zzb2"]]})
    load_org(session=demo_org, data=read_org_file(path))
    demo_org.commit()
    after = org_snapshot(demo_org)
    assert after["recipients"] == sorted([*(r for r in before["recipients"] if r[0] != "organisation_department"),
                                          ("organisation_department", "json://127.0.0.1:1/zzb2")])
    assert {k: v for k, v in after.items() if k != "recipients"} == {k: v for k, v in before.items() if k != "recipients"}


# ---------------------------------------------------------------- bad rows


Spoil = Callable[[Any], None]


def cell(sheet: str, ref: str, value: Any) -> Spoil:
    """A spoil that puts `value` in one cell of the demo workbook."""

    def spoil(wb: Any) -> None:
        wb[sheet][ref] = value

    return spoil


# (name, spoil, what the refusal says).
BAD_ROWS: list[tuple[str, Spoil, str]] = [
    ("unknown_unit_kind", cell("单位", "B3", "群团组织"), "工作表“单位”第3行：“类型”应为“乡镇街道”、“部门”、“国有企业”、“社区村”之一，实为“群团组织”"),
    ("bad_pool", cell("人员", "E4", "组长库、专家库"), "工作表“人员”第4行：“人才库”应填“组长库”、“人才库”、“分管领导”（多个用逗号或顿号分隔），实为“专家库”"),
    ("missing_unit_name", cell("单位", "A5", None), "工作表“单位”第5行：“名称”不能为空"),
    ("unknown_role", cell("接收人", "A2", "市长"), "工作表“接收人”第2行：“角色”应为“巡察办”"),
    ("missing_person_name_column", lambda wb: wb["人员"].delete_cols(1), "工作表“人员”缺少必需的列：姓名"),
    ("unknown_column", cell("人员", "F1", "联系方试"), "工作表“人员”第1行：无法识别的列“联系方试”"),
    ("bad_available", cell("人员", "G3", "不一定"), "工作表“人员”第3行：“可用”应填“是”或“否”，实为“不一定”"),
    ("unknown_conflict_kind", cell("回避", "C2", "同学关系"), "工作表“回避”第2行：“回避类型”应为“原工作单位”、“亲属任职”、“申报回避”之一，实为“同学关系”"),
    ("duplicate_unit", cell("单位", "A3", "城东街道"), "工作表“单位”第3行：名称“城东街道”与第2行重复"),
    ("missing_address", cell("接收人", "B3", None), "工作表“接收人”第3行：“地址”不能为空"),
    ("bad_priority", cell("单位", "G4", "很高"), "工作表“单位”第4行：“重点关注”应填整数，实为“很高”"),
    ("bad_left_year", cell("回避", "E2", "前年"), "工作表“回避”第2行：“离开年份”应填整数，实为“前年”"),
    ("left_year_out_of_range", cell("回避", "E3", 1900), "工作表“回避”第3行：“离开年份”"),
    # Parses; load_org refuses the reference.
    ("unknown_unit_for_person", cell("人员", "B4", "区不存在局"), "人员“李建国”的所在单位不存在：区不存在局"),
]
SPOILS = {n: s for n, s, _ in BAD_ROWS}
# Not among the parse errors of a file spoiled at once: refused later, or shifting the other columns.
NOT_PARSE_ERRORS = ("unknown_unit_for_person", "missing_person_name_column")


def spoil_file(path: Path, *spoils: Spoil) -> Path:
    wb = load_workbook(path)
    wb["单位"]["C2"] = "改过的片区"  # a good edit, which must not be written either
    for spoil in spoils:
        spoil(wb)
    wb.save(path)
    return path


@pytest.mark.parametrize(("spoil", "phrase"), [(s, p) for _, s, p in BAD_ROWS], ids=[n for n, _, _ in BAD_ROWS])
def test_bad_row_writes_nothing(demo_org: Session, demo_xlsx: Path, spoil: Spoil, phrase: str) -> None:
    spoil_file(demo_xlsx, spoil)
    before, snapshot = row_counts(demo_org), org_snapshot(demo_org)
    with pytest.raises(DomainError) as exc:
        load_org(session=demo_org, data=read_org_file(demo_xlsx))
    assert phrase in str(exc.value)
    assert exc.value.problems == [p for p in exc.value.problems if phrase in p]  # nothing else reported
    demo_org.commit()
    assert row_counts(demo_org) == before
    assert org_snapshot(demo_org) == snapshot
    assert demo_org.exec(select(Unit.area).where(Unit.name == "城东街道")).one() == "城区"


def test_every_bad_row_is_listed(demo_org: Session, demo_xlsx: Path) -> None:
    parse_errors = [(s, p) for n, s, p in BAD_ROWS if n not in NOT_PARSE_ERRORS]
    spoil_file(demo_xlsx, *(s for s, _ in parse_errors))
    before = row_counts(demo_org)
    with pytest.raises(DomainError) as exc:
        read_org_file(demo_xlsx)
    assert str(exc.value).startswith("组织数据格式有误，整个文件未导入")
    assert len(exc.value.problems) == len(parse_errors)
    for _, phrase in parse_errors:
        assert any(phrase in p for p in exc.value.problems), phrase
    assert row_counts(demo_org) == before


def test_row_numbers_count_blank_rows(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "gaps.xlsx", {
        "单位": [["名称", "类型"], ["区统计局", "部门"], [None, None], [None, None], ["区档案馆", "档案"]],
    })
    with pytest.raises(DomainError) as exc:
        read_org_file(path)
    assert exc.value.problems == ["工作表“单位”第5行：“类型”应为“乡镇街道”、“部门”、“国有企业”、“社区村”之一，实为“档案”"]


def _corrupt_bytes(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04 this is not really a workbook")


def _zip_but_not_a_workbook(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "not a workbook")


def _yaml_renamed(path: Path) -> None:
    path.write_bytes(DEMO_ORG.read_bytes())


def _truncated(path: Path) -> None:
    # A real workbook cut short, as by an interrupted copy.
    write_workbook(path, {"单位": [["名称", "类型"], ["区统计局", "部门"]]})
    path.write_bytes(path.read_bytes()[:400])


def _replace_part(path: Path, part: str, content: bytes) -> None:
    write_workbook(path, {"单位": [["名称", "类型"], ["区统计局", "部门"]]})
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    parts[part] = content
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def _damaged_sheet(path: Path) -> None:
    _replace_part(path, "xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row r='1'>")


def _damaged_styles(path: Path) -> None:
    _replace_part(path, "xl/styles.xml", b"garbage")


@pytest.mark.parametrize("make", [_corrupt_bytes, _zip_but_not_a_workbook, _yaml_renamed, _truncated,
                                  _damaged_sheet, _damaged_styles],
                         ids=lambda f: f.__name__[1:])
def test_unreadable_workbook(demo_org: Session, tmp_path: Path, make: Callable[[Path], None]) -> None:
    path = tmp_path / "county.xlsx"
    make(path)
    before = row_counts(demo_org)
    with pytest.raises(DomainError, match="无法读取组织数据 Excel 文件：county.xlsx"):
        read_org_file(path)
    assert row_counts(demo_org) == before


def test_workbook_without_org_sheets(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "findings.xlsx", {"问题清单": [["问题类别", "问题描述"], ["党的建设", "…"]], "人员表": [[None]]})
    with pytest.raises(DomainError, match="没有可导入的工作表（应为：单位、人员、回避、接收人、用户；实为：问题清单）"):
        read_org_file(path)


def test_file_types(tmp_path: Path) -> None:
    old = tmp_path / "county.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DomainError, match=r"不支持的组织数据文件类型：\.xls（请使用 \.yaml、\.yml 或 \.xlsx）"):
        read_org_file(old)
    with pytest.raises(DomainError, match="找不到组织数据文件"):
        read_org_file(tmp_path / "missing.xlsx")
    with pytest.raises(DomainError, match="找不到组织数据文件"):
        read_org_excel(tmp_path / "missing.xlsx")
    upper = tmp_path / "COUNTY.YML"
    upper.write_bytes(DEMO_ORG.read_bytes())
    assert len(read_org_file(upper).units) == 16


def test_export_refuses_other_suffix(demo_org: Session, tmp_path: Path) -> None:
    with pytest.raises(DomainError, match=r"导出文件名应以 \.xlsx 结尾"):
        write_org_excel(demo_org, tmp_path / "county.csv")
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]


def test_export_leaves_no_partial_file(demo_org: Session, demo_xlsx: Path, tmp_path: Path) -> None:
    """Exporting over an existing file replaces it whole; no temporary files are left behind."""
    demo_xlsx.write_bytes(b"old")
    write_org_excel(demo_org, demo_xlsx)
    assert len(read_org_excel(demo_xlsx).units) == 16
    assert sorted(p.name for p in tmp_path.iterdir()) == ["county.xlsx", "home"]


# ---------------------------------------------------------------- command line


def test_cli_loads_and_exports_excel(cli_home: Path, demo_org: Session, demo_xlsx: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["load-org", str(demo_xlsx)])
    assert result.exit_code == 0, result.output
    assert "已导入：单位16个，人员15人，回避申报4条，用户20个。" in result.output
    login("陶文华")  # a new install's first import needs no login; everything after it does
    with Session(get_engine()) as s:
        assert org_snapshot(s) == org_snapshot(demo_org)

    out = tmp_path / "exports" / "导出.xlsx"
    result = runner.invoke(app, ["export-org", str(out), "--with-addresses"])
    assert result.exit_code == 0, result.output
    assert "单位16个，人员15人，回避申报4条，接收人6个，用户20个" in result.output
    assert sheet_values(out) == sheet_values(demo_xlsx)
    masked = runner.invoke(app, ["export-org", str(tmp_path / "exports" / "隐藏.xlsx")])
    assert masked.exit_code == 0 and "提醒地址已隐藏" in masked.output and "://127.0.0.1" not in masked.output
    assert "://127.0.0.1" not in str(sheet_values(tmp_path / "exports" / "隐藏.xlsx"))

    spoil_file(demo_xlsx, SPOILS["unknown_unit_kind"], SPOILS["bad_pool"])
    with Session(get_engine()) as s:
        before = row_counts(s)
    result = runner.invoke(app, ["load-org", str(demo_xlsx)])
    assert result.exit_code == 2
    assert "工作表“单位”第3行：“类型”应为" in result.output
    assert "工作表“人员”第4行：“人才库”应填" in result.output
    with Session(get_engine()) as s:
        assert row_counts(s) == before
        assert s.exec(select(Unit.area).where(Unit.name == "城东街道")).one() == "城区"

    result = runner.invoke(app, ["export-org", str(tmp_path / "导出.txt")])
    assert result.exit_code == 2
    assert "导出文件名应以 .xlsx 结尾" in result.output
    assert not (tmp_path / "导出.txt").exists()


# ---------------------------------------------------------------- alert addresses stay hidden


def _addresses(session: Session) -> list[str]:
    session.expire_all()
    return ([u.secretary_contact for u in session.exec(select(Unit)) if "://" in u.secretary_contact]
            + [p.contact for p in session.exec(select(Person)) if "://" in p.contact]
            + [r.url for r in session.exec(select(RoleRecipient))])


def test_an_export_hides_every_alert_address(demo_org: Session, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "county.xlsx"
    write_org_excel(demo_org, path)
    cells = [str(v) for rows in sheet_values(path).values() for row in rows for v in row if v is not None]
    stored = _addresses(demo_org)
    assert len(stored) >= 10 and not [a for a in stored if any(a in c or a.split("://", 1)[1] in c for c in cells)]
    sheets = sheet_values(path)
    assert re.fullmatch(r"json://（已隐藏·[0-9a-f]{8}）", sheets["接收人"][1][1]), sheets["接收人"][1]
    assert sheets["单位"][5][4].startswith("json://（已隐藏·")
    assert mask_address(settings, "13800000000") == "13800000000"  # a telephone number is no address
    assert mask_address(settings, "dingtalk://tok1") != mask_address(settings, "dingtalk://tok2")


def test_a_masked_export_loads_back_keeping_the_stored_addresses(demo_org: Session, tmp_path: Path) -> None:
    path = tmp_path / "county.xlsx"
    write_org_excel(demo_org, path)
    before, counts = org_snapshot(demo_org), row_counts(demo_org)
    load_org(session=demo_org, data=read_org_file(path))
    demo_org.commit()
    assert org_snapshot(demo_org) == before and row_counts(demo_org) == counts
    assert "（已隐藏" not in str(_addresses(demo_org))


def test_a_masked_address_with_nothing_behind_it_is_refused(demo_org: Session, tmp_path: Path) -> None:
    path = tmp_path / "county.xlsx"
    write_org_excel(demo_org, path)
    with database(tmp_path / "fresh", demo=False) as fresh:  # another database: nothing to keep
        before = row_counts(fresh)
        with pytest.raises(DomainError) as err:
            load_org(session=fresh, data=read_org_file(path))
        fresh.rollback()
        assert row_counts(fresh) == before
    assert "“巡察办”的接收地址“json://（已隐藏·" in str(err.value) and "是导出时隐藏的地址" in str(err.value)
    assert "单位“区财政局”的书记联系方式" in str(err.value)
    # A masked address moved to another role matches nothing there either.
    office = sheet_values(path)["接收人"][1][1]
    moved = write_workbook(tmp_path / "moved.xlsx", {"接收人": [["角色", "地址"], ["组织部", office]]})
    with pytest.raises(DomainError, match="“组织部”的接收地址"):
        load_org(session=demo_org, data=read_org_file(moved))
