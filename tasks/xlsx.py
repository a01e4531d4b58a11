"""Workbooks the office opens: every cell written through `append_row` (text that looks like a
formula stays text, control characters Excel cannot hold are replaced), saved all or nothing with
a Chinese message when the file cannot be written."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

from models.errors import DomainError

# What spreadsheet programs read as the start of a formula or a command (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
REPLACEMENT = "\ufffd"


def clean(value: Any) -> Any:
    """A value as a cell can hold it: control characters (a NUL stored long ago) replaced."""
    return ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, value) if isinstance(value, str) else value


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
