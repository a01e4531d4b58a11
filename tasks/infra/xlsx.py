"""Workbooks in and out. Out: every cell written through `append_row` (text that looks like a
formula stays text, control characters Excel cannot hold are replaced), saved all or nothing with
a Chinese message when the file cannot be written. In: `read_workbook` opens read-only within
limits on file size, unpacked size, rows and columns, so a small file that declares a huge sheet
(A1:XFD1048576) or unpacks to gigabytes is refused in Chinese instead of exhausting memory, and
so is XML with entity definitions (defusedxml, which openpyxl uses when it is installed)."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from defusedxml import DefusedXmlException

from models.errors import DomainError
from models.text import printable
from tasks.infra.textio import check_file

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

MAX_XLSX_MB = 20
MAX_UNPACKED_MB = 200
MAX_ROWS = 20_000
MAX_COLUMNS = 50

# What spreadsheet programs read as the start of a formula or a command (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
REPLACEMENT = "\ufffd"


def clean(value: Any) -> Any:
    """A value as a cell can hold it: control characters (a NUL stored long ago) replaced."""
    return printable(value, REPLACEMENT)


def new_workbook() -> Workbook:
    """An empty workbook. openpyxl is loaded when a workbook is made or read, not when a flow
    run's process starts (half a second of a busy machine for each run that writes none)."""
    from openpyxl import Workbook

    return Workbook()


def append_row(ws: Worksheet, values: Iterable[Any]) -> None:
    """Append one row. A text value starting like a formula (`=cmd|' /C calc'!A0`, `=HYPERLINK(…)`,
    `+`, `-`, `@`) is written as a text cell with Excel's quote prefix, so it shows as typed and
    stays text even when someone edits the cell; None becomes an empty cell."""
    ws.append([clean(v) for v in values])
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
            cell.data_type = "s"
            cell.quotePrefix = True


def save_workbook(wb: Workbook, path: Path) -> None:
    """Save through a temporary file beside `path`, so a failure leaves no half-written file."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.xlsx")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            wb.save(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise DomainError(f"无法写入文件：{path}（{exc.strerror or exc}）") from exc


def _sheet_values(ws: Any, *, what: str) -> list[tuple[Any, ...]]:
    """The rows of one read-only sheet, trailing empty cells dropped, within MAX_ROWS × MAX_COLUMNS."""
    where = f"{what}的工作表“{ws.title}”"
    if (ws.max_row or 0) > MAX_ROWS or (ws.max_column or 0) > MAX_COLUMNS:
        raise DomainError(f"{where}声明的范围为 {ws.calculate_dimension()}（{ws.max_row}行×{ws.max_column}列），"
                          f"超过上限（最多{MAX_ROWS}行、{MAX_COLUMNS}列）；请删除多余的行和列，或将内容复制到新工作簿后再导入")
    ws.reset_dimensions()  # a declared range that is too small would make openpyxl drop rows silently
    rows: list[tuple[Any, ...]] = []
    for row in ws.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True):
        if len(rows) == MAX_ROWS:
            raise DomainError(f"{where}超过{MAX_ROWS}行（含空行），请拆分后再导入")
        if row[MAX_COLUMNS] is not None:
            raise DomainError(f"{where}第{len(rows) + 1}行超过{MAX_COLUMNS}列，请删除多余的列后再导入")
        end = len(row)
        while end and row[end - 1] is None:
            end -= 1
        rows.append(tuple(row[:end]))
    return rows


def _defused(exc: BaseException | None) -> bool:
    """Whether defusedxml refused the XML, anywhere in the chain (openpyxl wraps it in a ValueError)."""
    while exc is not None:
        if isinstance(exc, DefusedXmlException):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def read_workbook(path: Path, *, what: str, active_only: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet (or only the active one) as rows of cell values, keyed by sheet title."""
    check_file(path, what=what, max_mb=MAX_XLSX_MB)
    damaged = (f"无法读取{what}：{path.name}（文件已损坏，或不是 .xlsx 格式；旧版 .xls 请在 Excel 中另存为 .xlsx）")
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DomainError(damaged) from exc
    if unpacked > MAX_UNPACKED_MB * 1024 * 1024:
        raise DomainError(f"无法读取{what}：{path.name} 解压后达 {unpacked / 1024 / 1024:.0f} MB，"
                          f"超过上限 {MAX_UNPACKED_MB} MB（可能不是正常的工作簿）")
    # openpyxl fails on a damaged file in many ways (KeyError, lxml and ElementTree parse errors,
    # TypeError…); whatever it raises, the file is unreadable for the office.
    # With defusedxml installed openpyxl parses through it, which refuses DTDs and entity
    # definitions (billion laughs, quadratic blow-up, external entities): a workbook Excel writes never has them.
    unsafe = (f"无法读取{what}：{path.name}（文件中含有实体定义等不安全的 XML 内容，正常的 Excel 工作簿没有这些，"
              "已拒绝读取；请在 Excel 中另存为新的 .xlsx 后再导入）")
    try:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise DomainError(unsafe if _defused(exc) else damaged) from exc
    try:
        sheets = [wb.active] if active_only else wb.worksheets
        return {str(ws.title).strip(): _sheet_values(ws, what=what) for ws in sheets if ws is not None}
    except DomainError:
        raise
    except Exception as exc:
        raise DomainError(unsafe if _defused(exc) else f"无法读取{what}：{path.name}（文件内容已损坏）") from exc
    finally:
        wb.close()
