"""Excel exports of a round's rectification lists (五清单) in the layout offices use.

One workbook per round (optionally one unit) with the sheets 问题清单, 任务清单, 责任清单,
整改进展台账 (supervision and effect: who supervises, last report, closing, evidence, rules made)
and 汇总 (the per-unit figures of tasks/records/statistics.py). Header row bold, panes frozen below it,
dates stored as dates. Clues and petitions are never exported: problems only.

The file is written in full or not at all: names are checked first, and the workbook is saved to
a temporary file that is renamed into place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from models import tables
from models.clock import aware
from models.enums import ItemStatus
from models.errors import DomainError
from models.text import printable
from tasks.infra.xlsx import append_row, save_workbook
from tasks.lifecycle.findings import find_inspection
from tasks.records.statistics import MEASURES, find_round, unit_figures

YES, NO = "是", "否"
DATE_FORMAT = "yyyy-mm-dd"


@dataclass(frozen=True)
class Column:
    title: str
    width: float
    wrap: bool = False


def _cols(*spec: tuple[str, float] | tuple[str, float, bool]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


# The item's number, as the unit names it in 报送整改方案/报送整改进展 and the 整改通知书 shows it
# (序号 only counts the rows of the sheet). Last, so the columns before it keep their places.
ITEM_NO = ("整改事项编号", 12)
PROBLEMS = _cols(("序号", 6), ("被巡察单位", 18), ("问题类别", 14), ("问题性质", 10), ("问题描述", 50, True),
                 ("立行立改", 9), ("登记日期", 12), ("反馈日期", 12))
TASKS = _cols(("序号", 6), ("被巡察单位", 18), ("问题类别", 14), ("问题描述", 44, True), ("整改措施", 40, True),
              ("完成时限", 12), ("整改状态", 12), ITEM_NO)
RESPONSIBILITIES = _cols(("序号", 6), ("被巡察单位", 18), ("问题类别", 14), ("问题描述", 44, True), ("责任领导", 12),
                         ("责任人", 12), ("督办人", 12), ("领办领导（共性问题）", 16), ("督办频次（天）", 10),
                         ("完成时限", 12), ITEM_NO)
PROGRESS = _cols(("序号", 6), ("被巡察单位", 18), ("问题类别", 14), ("问题描述", 40, True), ("整改措施", 34, True),
                 ("责任领导", 12), ("责任人", 12), ("督办人", 12), ("完成时限", 12), ("整改状态", 12), ("是否逾期", 9),
                 ("最近报送进展", 13), ("销号日期", 12), ("佐证材料", 30, True), ("建章立制", 9), ITEM_NO)
SUMMARY = _cols(("被巡察单位", 18), ("单位类型", 10), ("巡察组", 12), ("所处阶段", 10),
                *[(title, 10) for title in MEASURES.values()])
SHEET_NAMES = ("问题清单", "任务清单", "责任清单", "整改进展台账", "汇总")


def _day(value: datetime | date | None) -> date | None:
    if value is None:
        return None
    return aware(value).date() if isinstance(value, datetime) else value


def _resolve(session: Session, round_name: str, unit_name: str | None) -> tuple[tables.InspectionRound, tables.Unit | None]:
    rnd = find_round(session=session, name=round_name)
    if not unit_name:
        return rnd, None
    insp = find_inspection(session=session, round_name=rnd.name, unit_name=unit_name.strip())
    return rnd, session.get(tables.Unit, insp.unit_id)


def _scope(rnd: tables.InspectionRound, unit: tables.Unit | None) -> list[Any]:
    where = [col(tables.Inspection.round_id) == rnd.id]
    if unit is not None:
        where.append(col(tables.Inspection.unit_id) == unit.id)
    return where


def problem_rows(session: Session, rnd: tables.InspectionRound, unit: tables.Unit | None) -> list[list[Any]]:
    rows = session.execute(
        sa_select(col(tables.Unit.name), col(tables.Finding.category), col(tables.Finding.scope), col(tables.Finding.description),
                  col(tables.Finding.fixed_on_site), col(tables.Finding.created_at), col(tables.Inspection.feedback_date))
        .select_from(tables.Finding).join(tables.Inspection, col(tables.Inspection.id) == tables.Finding.inspection_id)
        .join(tables.Unit, col(tables.Unit.id) == tables.Inspection.unit_id).where(*_scope(rnd, unit))
        .order_by(col(tables.Unit.name), col(tables.Finding.id))).all()
    return [[i, u, cat, str(getattr(scope, "value", scope)), desc, YES if fixed else NO, _day(created), _day(fb)]
            for i, (u, cat, scope, desc, fixed, created, fb) in enumerate(rows, 1)]


def _item_query(rnd: tables.InspectionRound, unit: tables.Unit | None) -> Any:
    leader: Any = aliased(tables.Person)
    return (sa_select(col(tables.Unit.name), col(tables.Finding.category), col(tables.Finding.description), tables.RectificationItem,
                      leader.name, col(tables.CommonProblem.leader_in_charge))
            .select_from(tables.RectificationItem)
            .join(tables.Finding, col(tables.Finding.id) == tables.RectificationItem.finding_id)
            .join(tables.Inspection, col(tables.Inspection.id) == tables.RectificationItem.inspection_id)
            .join(tables.Unit, col(tables.Unit.id) == tables.Inspection.unit_id)
            .outerjoin(leader, leader.id == tables.RectificationItem.responsible_leader_id)
            .outerjoin(tables.CommonProblem, col(tables.CommonProblem.id) == tables.RectificationItem.common_problem_id)
            .where(*_scope(rnd, unit)).order_by(col(tables.Unit.name), col(tables.Finding.id)))


def item_sheets(session: Session, rnd: tables.InspectionRound, unit: tables.Unit | None, as_of: date) -> dict[str, list[list[Any]]]:
    tasks, duties, progress = [], [], []
    for i, (u, cat, desc, item, leader, in_charge) in enumerate(session.execute(_item_query(rnd, unit)).all(), 1):
        status = ItemStatus(item.status)
        closed = status == ItemStatus.CLOSED
        overdue = not closed and item.deadline < as_of
        tasks.append([i, u, cat, desc, item.measure, item.deadline, status.value, item.id])
        duties.append([i, u, cat, desc, leader or "", item.owner, item.supervisor, in_charge or "",
                       item.supervise_every_days, item.deadline, item.id])
        progress.append([i, u, cat, desc, item.measure, leader or "", item.owner, item.supervisor, item.deadline,
                         status.value, YES if overdue else NO, _day(item.last_report_at), _day(item.closed_at),
                         item.evidence, item.rules_made, item.id])
    return {"任务清单": tasks, "责任清单": duties, "整改进展台账": progress}


def _fill(ws: Worksheet, columns: tuple[Column, ...], rows: list[list[Any]]) -> None:
    append_row(ws, [c.title for c in columns])
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for cell in ws[1]:
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        append_row(ws, row)
    for j, c in enumerate(columns, 1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = c.width
        for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
            if isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT
            if c.wrap:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"


def export_lists(*, session: Session, round_name: str, unit_name: str | None, path: Path, as_of: date) -> dict[str, int]:
    """Write the round's (or one unit's) lists to `path`; returns how many problems and items."""
    if path.suffix.lower() != ".xlsx":
        raise DomainError(f"导出文件名应以 .xlsx 结尾：{path.name}")
    rnd, unit = _resolve(session, round_name, unit_name)
    assert rnd.id is not None
    problems = problem_rows(session, rnd, unit)
    items = item_sheets(session, rnd, unit, as_of)
    summary = [[r["name"], r["kind"], r["team"], r["stage"], *[r[k] for k in MEASURES]]
               for r in unit_figures(session=session, round_id=rnd.id, unit_id=unit.id if unit else None)]
    wb = Workbook()
    default = wb.active
    if default is not None:
        wb.remove(default)
    for name, columns, rows in (("问题清单", PROBLEMS, problems), ("任务清单", TASKS, items["任务清单"]),
                                ("责任清单", RESPONSIBILITIES, items["责任清单"]),
                                ("整改进展台账", PROGRESS, items["整改进展台账"]), ("汇总", SUMMARY, summary)):
        _fill(wb.create_sheet(name), columns, rows)
    wb.properties.title = printable(f"{rnd.name}{('·' + unit.name) if unit else ''} 整改清单（截至{as_of}）")
    save_workbook(wb, path)
    return {"problems": len(problems), "items": len(items["任务清单"])}

