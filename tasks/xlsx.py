"""Writing a workbook the office will open: all or nothing, with a Chinese message when the
file cannot be written (a folder that does not exist is created; an open file in Excel is not)."""

from __future__ import annotations

import os
from pathlib import Path

from openpyxl import Workbook

from models.errors import DomainError


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
