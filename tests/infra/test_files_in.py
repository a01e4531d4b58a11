"""Files handed in: text in UTF-8, UTF-8 with a BOM or GB18030/GBK is read and its encoding named;
a folder, a binary file, UTF-16 or an undecodable file gets a Chinese message; a workbook that
declares a huge sheet or unpacks to a huge size is refused without using much memory."""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import Session
from typer.testing import CliRunner

from deployments.cli.main import app
from models.errors import DomainError
from tasks.infra.textio import GB18030, UTF8, UTF8_BOM, read_stream, read_text
from tasks.infra.xlsx import MAX_COLUMNS, MAX_ROWS, read_workbook
from tasks.lifecycle.findings import parse_sheet_file
from tasks.planning.org import read_org_file, read_org_file_encoded
from tests.support.factories import SHEET_HEADER, laughing_workbook, row_counts, write_xlsx

CSV = "问题类别,问题描述,证据材料,问题性质,立行立改\n党的建设,“三会一课”制度落实不到位,会议记录本,个性问题,否\n"
YAML = "units:\n  - {name: 新设单位, kind: 部门}\n"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(("codec", "name"), [("utf-8", UTF8), ("utf-8-sig", UTF8_BOM), ("gbk", GB18030),
                                             ("gb18030", GB18030)])
def test_text_encodings_are_detected(tmp_path: Path, codec: str, name: str) -> None:
    sheet = tmp_path / "问题清单.csv"
    sheet.write_bytes(CSV.encode(codec))
    findings, encoding = parse_sheet_file(sheet)
    assert encoding == name and findings[0].description == "“三会一课”制度落实不到位"
    org = tmp_path / "org.yaml"
    org.write_bytes(YAML.encode(codec))
    data, encoding = read_org_file_encoded(org)
    assert encoding == name and data.units[0].name == "新设单位"
    assert read_text(org) == (YAML, name)
    assert read_stream(io.BytesIO(YAML.encode(codec))) == (YAML, name)


@pytest.mark.parametrize(("content", "phrase"), [
    (b"\x00\x01\x02\x03binary\xff", "不是文本文件"),
    ("units: []\n".encode("utf-16"), "UTF-16 编码"),
    (b"units: \x80\x80\n", "文字编码无法识别"),
], ids=["binary", "utf-16", "undecodable"])
def test_text_that_is_not_readable(tmp_path: Path, content: bytes, phrase: str) -> None:
    path = tmp_path / "org.yaml"
    path.write_bytes(content)
    with pytest.raises(DomainError, match=phrase) as exc:
        read_org_file(path)
    assert str(exc.value).startswith("无法读取组织数据文件：")


def test_a_folder_given_as_a_file(tmp_path: Path) -> None:
    for name in ("org.yaml", "问题清单.csv", "county.xlsx", "问题清单.xlsx"):
        (tmp_path / name).mkdir()
    for call in (lambda: read_org_file(tmp_path / "org.yaml"), lambda: parse_sheet_file(tmp_path / "问题清单.csv"),
                 lambda: read_org_file(tmp_path / "county.xlsx"), lambda: parse_sheet_file(tmp_path / "问题清单.xlsx")):
        with pytest.raises(DomainError, match="是文件夹，应为文件"):
            call()


def test_cli_says_the_encoding_and_refuses_in_chinese(cli_home: Path, tmp_path: Path) -> None:
    from models.db import session_scope
    from tasks.planning.org import load_org
    from tests.conftest import DEMO_ORG
    from tests.support.cli import login

    with session_scope() as s:  # the office's accounts, and its clerk logged in at the terminal
        load_org(session=s, data=read_org_file(DEMO_ORG))
    login("陶文华")
    runner = CliRunner()
    org = tmp_path / "org.yaml"
    org.write_bytes(YAML.encode("gbk"))
    ok = runner.invoke(app, ["load-org", str(org)])
    assert ok.exit_code == 0 and ok.output.startswith(f"（按 {GB18030} 编码读取）已导入：单位1个"), ok.output
    for argv in (["load-org", str(tmp_path)], ["start-round", str(tmp_path)],
                 ["import-findings", str(tmp_path), "--round", "某轮", "--unit", "某单位"]):
        bad = runner.invoke(app, argv)
        assert bad.exit_code == 2 and isinstance(bad.exception, SystemExit), (argv, bad.output)
    binary = tmp_path / "r.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    bad = runner.invoke(app, ["start-round", str(binary)])
    assert bad.exit_code == 2 and "不是文本文件" in bad.output, bad.output
    gbk_round = tmp_path / "round.yaml"
    gbk_round.write_bytes("name: [\n".encode("gbk"))
    bad = runner.invoke(app, ["start-round", str(gbk_round)])
    assert bad.exit_code == 2 and "不是有效的 YAML" in bad.output, bad.output


def _huge_dimension(path: Path, rows: list[list[str]], sheet: str) -> Path:
    """A real, small workbook whose sheet declares A1:XFD1048576 (the whole grid)."""
    plain = write_xlsx(path.with_name("plain.xlsx"), rows, sheet=sheet)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data, n = re.subn(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
                assert n == 1
            dst.writestr(info, data)
    assert path.stat().st_size < 10_000
    return path


def _peak_mb(call: object) -> tuple[BaseException | None, float]:
    tracemalloc.start()
    error: BaseException | None = None
    try:
        call()  # type: ignore[operator]
    except DomainError as exc:
        error = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
    return error, peak


def test_a_sheet_declaring_the_whole_grid_is_refused_in_little_memory(tmp_path: Path, demo_org: Session) -> None:
    findings = _huge_dimension(tmp_path / "问题清单.xlsx", [SHEET_HEADER, ["党的建设", "会议记录缺失", "", "个性问题", "否"]],
                               "问题清单")
    org = _huge_dimension(tmp_path / "county.xlsx", [["名称", "类型"], ["新设单位", "部门"]], "单位")
    before = row_counts(demo_org)
    for call, what in ((lambda: parse_sheet_file(findings), "问题清单"), (lambda: read_org_file(org), "组织数据 Excel 文件")):
        error, peak = _peak_mb(call)
        assert peak < 200, f"{what}: {peak:.0f} MB"
        assert error is not None, what
        message = str(error)
        assert "A1:XFD1048576" in message and f"最多{MAX_ROWS}行、{MAX_COLUMNS}列" in message and message.startswith(what)
        assert CHINESE.search(message)
    assert row_counts(demo_org) == before


def test_rows_and_columns_beyond_the_limits(tmp_path: Path) -> None:
    """A dimension that understates the sheet does not hide rows, and real data beyond the limits is refused."""
    wide = tmp_path / "wide.xlsx"
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["x"] * (MAX_COLUMNS + 1))
    wb.save(wide)
    with pytest.raises(DomainError, match=f"A1:AY1（1行×{MAX_COLUMNS + 1}列），超过上限"):
        read_workbook(wide, what="问题清单")
    with pytest.raises(DomainError, match=f"第1行超过{MAX_COLUMNS}列"):
        read_workbook(_without_dimension(wide), what="问题清单")
    understated = tmp_path / "under.xlsx"
    with zipfile.ZipFile(_huge_dimension(tmp_path / "h.xlsx", [["a"], ["b"], ["c"]], "S")) as src, \
            zipfile.ZipFile(understated, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, data.replace(b'ref="A1:XFD1048576"', b'ref="A1:A1"'))
    assert read_workbook(understated, what="x") == {"S": [("a",), ("b",), ("c",)]}
    tall = tmp_path / "tall.xlsx"
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.cell(row=MAX_ROWS + 5, column=1, value="远处的一格")
    wb.save(tall)
    with pytest.raises(DomainError, match=f"超过{MAX_ROWS}行"):
        read_workbook(_without_dimension(tall), what="问题清单")


def _without_dimension(path: Path) -> Path:
    """The workbook with its dimension tags dropped, so only the rows themselves tell the size."""
    out = path.with_name("no-dimension-" + path.name)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, re.sub(rb"<dimension [^>]*/>", b"", src.read(info.filename)))
    return out


def test_a_workbook_that_unpacks_to_too_much(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/sharedStrings.xml", b" " * (210 * 1024 * 1024))
    assert bomb.stat().st_size < 1_000_000
    error, peak = _peak_mb(lambda: read_workbook(bomb, what="问题清单"))
    assert error is not None and "解压后达" in str(error) and peak < 50


@pytest.mark.parametrize(("part", "refused"), [("xl/worksheets/sheet1.xml", True), ("xl/workbook.xml", False)])
def test_an_entity_expansion_workbook_is_refused(tmp_path: Path, part: str, refused: bool) -> None:
    """Billion laughs inside a workbook: defusedxml (which openpyxl uses when installed) refuses the
    entity definitions in the sheets, so the file is refused in Chinese instead of expanding to
    gigabytes. (The workbook part openpyxl parses with lxml without resolving entities: read, not expanded.)"""
    import defusedxml  # noqa: F401 - installed, not merely optional: openpyxl only uses it when present
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML
    bomb = laughing_workbook(tmp_path / "问题清单.xlsx", part)
    error, peak = _peak_mb(lambda: read_workbook(bomb, what="问题清单"))
    assert peak < 50
    if not refused:
        assert error is None
        return
    assert isinstance(error, DomainError)
    assert "不安全的 XML" in str(error) and str(error).startswith("无法读取问题清单：问题清单.xlsx"), str(error)
    with pytest.raises(DomainError, match="不安全的 XML"):
        parse_sheet_file(bomb)
