"""Org data as an Excel workbook (.xlsx): five sheets 单位、人员、回避、接收人、用户, first row the header.

`read_org_excel` only parses: every bad row of every sheet is collected and reported together
("工作表“人员”第5行：…"), and nothing is returned (so nothing can be written) while any remains.
References between sheets (a person's unit, a liaison leader, a conflict's person and unit) are
checked by `load_org`, as for YAML. `write_org_excel` exports the database in the same layout,
so an export can be edited and loaded again; alert addresses are masked unless asked for in full
(tasks/planning/org.py `mask_address`), and loading a masked one keeps the stored address.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError
from sqlmodel import Session, col, select

from models.enums import ROLE_NAMES, AccessRole, ConflictKind, Pool, Role, UnitKind
from models.errors import DomainError, field_titles, reason
from models.settings import Settings, get_settings
from models.tables import Account, Conflict, Person, RoleRecipient, Unit
from tasks.infra.xlsx import append_row, read_workbook, save_workbook
from tasks.planning.org_data import AccountIn, ConflictIn, OrgData, PersonIn, UnitIn, mask_address


@dataclass(frozen=True)
class SheetSpec:
    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]


UNITS = SheetSpec("单位", ("名称", "类型", "片区", "党组织书记", "书记联系方式", "联系领导", "重点关注"), ("名称", "类型"))
PEOPLE = SheetSpec("人员", ("姓名", "所在单位", "职务", "专长", "人才库", "联系方式", "可用"), ("姓名",))
CONFLICTS = SheetSpec("回避", ("人员", "单位", "回避类型", "说明", "离开年份"), ("人员", "单位", "回避类型"))
RECIPIENTS = SheetSpec("接收人", ("角色", "地址"), ("角色", "地址"))
ACCOUNTS = SheetSpec("用户", ("姓名", "角色", "在用"), ("姓名", "角色"))
SHEETS = (UNITS, PEOPLE, CONFLICTS, RECIPIENTS, ACCOUNTS)

# List cells (专长、人才库) may be separated by commas, 、, semicolons or line breaks.
LIST_SEPARATORS = re.compile(r"[,，、;；\n]+")
YES, NO = "是", "否"
ROLE_BY_NAME: dict[str, Role] = {name: role for role, name in ROLE_NAMES.items()} | {r.value: r for r in Role}

Row = dict[str, str]
T = TypeVar("T")


def _choices(values: Iterable[str]) -> str:
    return "、".join(f"“{v}”" for v in values)


def _text(value: Any) -> str:
    """A cell as the text the office typed: 13800000000 rather than 13800000000.0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value).strip()


def _split(cell: str) -> list[str]:
    return [part.strip() for part in LIST_SEPARATORS.split(cell) if part.strip()]


# ---------------------------------------------------------------- reading


def _read_workbook(path: Path) -> dict[str, list[list[str]]]:
    """Every sheet of the workbook as rows of text, keyed by sheet name (trimmed), within the
    limits of tasks/infra/xlsx.read_workbook."""
    sheets = read_workbook(path, what="组织数据 Excel 文件")
    return {title: [[_text(v) for v in row] for row in rows] for title, rows in sheets.items()}


def _sheet_rows(spec: SheetSpec, table: list[list[str]], problems: list[str]) -> list[tuple[int, Row]]:
    """(Excel row number, {column: text}) for every non-blank data row; header problems go to `problems`."""
    where = f"工作表“{spec.name}”"
    header = table[0] if table else []
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            continue
        if name not in spec.columns:
            problems.append(f"{where}第1行：无法识别的列“{name}”（可用的列：{'、'.join(spec.columns)}）")
        elif name in positions:
            problems.append(f"{where}第1行：列“{name}”重复（第{get_column_letter(positions[name] + 1)}列和第{get_column_letter(i + 1)}列）")
        else:
            positions[name] = i
    missing = [c for c in spec.required if c not in positions]
    if missing:
        problems.append(f"{where}缺少必需的列：{'、'.join(missing)}（表头应为：{'、'.join(spec.columns)}）")
        return []
    rows: list[tuple[int, Row]] = []
    for n, values in enumerate(table[1:], start=2):
        if not any(values):
            continue
        rows.append((n, {c: (values[i] if i < len(values) else "") for c, i in positions.items()}))
    return rows


class _RowProblems:
    """Collects the problems of one row, each prefixed with the sheet and the row number."""

    def __init__(self, sheet: str, n: int, problems: list[str]) -> None:
        self.prefix = f"工作表“{sheet}”第{n}行："
        self.problems = problems
        self.count = 0

    def add(self, message: str) -> None:
        self.problems.append(self.prefix + message)
        self.count += 1

    def required(self, row: Row, column: str) -> str:
        value = row.get(column, "")
        if not value:
            self.add(f"“{column}”不能为空")
        return value

    def choice(self, row: Row, column: str, parse: Callable[[str], Any], allowed: Iterable[str], hint: str = "") -> Any:
        value = self.required(row, column)
        if not value:
            return None
        try:
            return parse(value)
        except ValueError:
            self.add(f"“{column}”应为{_choices(allowed)}之一{hint}，实为“{value}”")
            return None


def _build(rp: _RowProblems, model: Callable[..., T], columns: dict[str, str], **data: Any) -> T | None:
    """Construct the pydantic model; any remaining validation error becomes a row problem."""
    if rp.count:
        return None
    try:
        return model(**data)
    except ValidationError as exc:
        for e in exc.errors():
            field = str(e["loc"][0]) if e["loc"] else ""
            # A nested field (the secretary's contact) or a list item (a specialty): its own title.
            titles = [t for t in field_titles(model, tuple(e["loc"])) if not t.startswith("第")]
            rp.add(f"“{columns.get(field) or (titles[-1] if titles else field)}”{reason(e)}")
        return None


def _each_row(spec: SheetSpec, rows: list[tuple[int, Row]], problems: list[str],
              build: Callable[[_RowProblems, Row], T | None], *, unique: str = "") -> list[T]:
    """What `build` makes of each row of the sheet; a row it cannot build adds its problems instead.
    `unique`: a column whose value no two rows may share."""
    built: list[T] = []
    for n, row in rows:
        item = build(_RowProblems(spec.name, n, problems), row)
        if item is not None:
            built.append(item)
    if unique:
        _check_unique(spec.name, unique, [(n, r[unique]) for n, r in rows if r.get(unique)], problems)
    return built


def _check_unique(sheet: str, column: str, rows: list[tuple[int, str]], problems: list[str]) -> None:
    first: dict[str, int] = {}
    for n, name in rows:
        if name in first:
            problems.append(f"工作表“{sheet}”第{n}行：{column}“{name}”与第{first[name]}行重复")
        else:
            first[name] = n


def _int_cell(rp: _RowProblems, row: Row, column: str, default: int | None) -> int | None:
    raw = row.get(column, "")
    if raw == "":
        return default
    try:
        return int(float(raw))
    except ValueError:
        rp.add(f"“{column}”应填整数，实为“{raw}”")
        return default


def _unit(rp: _RowProblems, row: Row) -> UnitIn | None:
    name = rp.required(row, "名称")
    kind = rp.choice(row, "类型", UnitKind, [k.value for k in UnitKind])
    secretary = {"name": row.get("党组织书记", ""), "contact": row.get("书记联系方式", "")}  # checked with the unit
    priority = _int_cell(rp, row, "重点关注", 0)
    return _build(rp, UnitIn, {"name": "名称", "kind": "类型", "area": "片区", "liaison_leader": "联系领导",
                                 "priority": "重点关注"}, name=name,
                  kind=kind, area=row.get("片区", ""), secretary=secretary,
                  liaison_leader=row.get("联系领导") or None, priority=priority)


def _person(rp: _RowProblems, row: Row) -> PersonIn | None:
    name = rp.required(row, "姓名")
    pool_names = [p.value for p in Pool]
    pools: list[Pool] = []
    for value in _split(row.get("人才库", "")):
        if value in pool_names:
            pools.append(Pool(value))
        else:
            rp.add(f"“人才库”应填{_choices(pool_names)}（多个用逗号或顿号分隔），实为“{value}”")
    available_raw = row.get("可用", "")
    if available_raw not in ("", YES, NO):
        rp.add(f"“可用”应填“是”或“否”，实为“{available_raw}”")
    return _build(
        rp, PersonIn, {"name": "姓名", "unit": "所在单位", "title": "职务", "contact": "联系方式"},
        name=name, unit=row.get("所在单位") or None, title=row.get("职务", ""),
        specialties=_split(row.get("专长", "")), pools=list(dict.fromkeys(pools)),
        contact=row.get("联系方式", ""), available=available_raw != NO,
    )


def _conflict(rp: _RowProblems, row: Row) -> ConflictIn | None:
    person = rp.required(row, "人员")
    unit = rp.required(row, "单位")
    kind = rp.choice(row, "回避类型", ConflictKind, [k.value for k in ConflictKind])
    ended = _int_cell(rp, row, "离开年份", None)
    return _build(rp, ConflictIn, {"person": "人员", "unit": "单位", "kind": "回避类型", "note": "说明",
                                   "ended_year": "离开年份"},
                  person=person, unit=unit, kind=kind, note=row.get("说明", ""), ended_year=ended)


def _parse_recipients(rows: list[tuple[int, Row]], problems: list[str]) -> dict[Role, list[str]]:
    recipients: dict[Role, list[str]] = {}
    for n, row in rows:
        rp = _RowProblems(RECIPIENTS.name, n, problems)
        role = rp.choice(row, "角色", lambda v: ROLE_BY_NAME[v] if v in ROLE_BY_NAME else Role(v.lower()),
                         ROLE_NAMES.values(), "（也可填英文角色名，如 office）")
        url = rp.required(row, "地址")
        if role is not None and url and url not in recipients.setdefault(role, []):
            recipients[role].append(url)
    return {role: urls for role, urls in recipients.items() if urls}


def _account(rp: _RowProblems, row: Row) -> AccountIn | None:
    name = rp.required(row, "姓名")
    role = rp.choice(row, "角色", AccessRole, [r.value for r in AccessRole])
    active = row.get("在用", "") or YES
    if active not in (YES, NO):
        rp.add(f"“在用”应为“{YES}”或“{NO}”，实为“{active}”")
    return _build(rp, AccountIn, {"name": "姓名", "role": "角色"}, name=name, role=role, active=active == YES)


def read_org_excel(path: Path) -> OrgData:
    """Parse the workbook. Raises DomainError listing every problem of every sheet."""
    if not path.exists():
        raise DomainError(f"找不到组织数据文件：{path}")
    # A sheet with nothing in it counts as absent.
    tables = {name: table for name, table in _read_workbook(path).items() if any(any(r) for r in table)}
    if not any(spec.name in tables for spec in SHEETS):
        raise DomainError(
            f"组织数据 Excel 文件中没有可导入的工作表（应为：{'、'.join(s.name for s in SHEETS)}；"
            f"实为：{'、'.join(tables) or '无'}）"
        )
    problems: list[str] = []

    def rows(spec: SheetSpec) -> list[tuple[int, Row]]:
        return _sheet_rows(spec, tables[spec.name], problems) if spec.name in tables else []

    # Sheet by sheet, so the problems are listed in the order of the workbook.
    units = _each_row(UNITS, rows(UNITS), problems, _unit, unique="名称")
    people = _each_row(PEOPLE, rows(PEOPLE), problems, _person, unique="姓名")
    conflicts = _each_row(CONFLICTS, rows(CONFLICTS), problems, _conflict)
    recipients = _parse_recipients(rows(RECIPIENTS), problems)
    accounts = _each_row(ACCOUNTS, rows(ACCOUNTS), problems, _account)
    if problems:
        raise DomainError("组织数据格式有误，整个文件未导入", problems)
    return OrgData(units=units, people=people, conflicts=conflicts, recipients=recipients, accounts=accounts)


# ---------------------------------------------------------------- writing


def _org_rows(session: Session, address: Callable[[str], str]) -> dict[str, list[list[str]]]:
    units = list(session.exec(select(Unit).order_by(col(Unit.id))))
    people = list(session.exec(select(Person).order_by(col(Person.id))))
    unit_names = {u.id: u.name for u in units}
    person_names = {p.id: p.name for p in people}
    conflicts = session.exec(select(Conflict).order_by(col(Conflict.id))).all()
    recipients = session.exec(select(RoleRecipient).order_by(col(RoleRecipient.id))).all()
    accounts = session.exec(select(Account).order_by(col(Account.id))).all()
    return {
        UNITS.name: [
            [u.name, UnitKind(u.kind).value, u.area, u.secretary_name, address(u.secretary_contact),
             person_names.get(u.liaison_leader_id, ""), str(u.priority) if u.priority else ""]
            for u in units
        ],
        PEOPLE.name: [
            [p.name, unit_names.get(p.unit_id, ""), p.title, "、".join(p.specialties), "、".join(p.pools),
             address(p.contact), YES if p.available else NO]
            for p in people
        ],
        CONFLICTS.name: [
            [person_names[c.person_id], unit_names[c.unit_id], ConflictKind(c.kind).value, c.note,
             str(c.ended_year) if c.ended_year else ""]
            for c in conflicts
        ],
        RECIPIENTS.name: [
            [_role_name(r.role), address(r.url)] for r in recipients
        ],
        ACCOUNTS.name: [[a.name, AccessRole(a.role).value, YES if a.active else NO] for a in accounts],
    }


def _role_name(value: str) -> str:
    role = ROLE_BY_NAME.get(value)
    return ROLE_NAMES[role] if role is not None else value


def _fill(ws: Worksheet, spec: SheetSpec, rows: list[list[str]]) -> None:
    append_row(ws, spec.columns)
    for row in rows:
        append_row(ws, row)  # text such as "=…" stays text, so it reads back as typed
    ws.freeze_panes = "A2"
    for i, name in enumerate(spec.columns, start=1):
        longest = max([len(name), *(len(str(r[i - 1])) for r in rows)])
        ws.column_dimensions[get_column_letter(i)].width = min(60, 4 + 2 * longest)


def write_org_excel(session: Session, path: Path, *, settings: Settings | None = None,
                    addresses: bool = False) -> dict[str, int]:
    """Export units, people, conflicts and role recipients as a workbook `read_org_excel` reads back.
    Alert addresses are masked unless `addresses` (they hold robot tokens and webhook paths).

    The file is written in full or not at all (a temporary file is renamed into place).
    """
    if path.suffix.lower() != ".xlsx":
        raise DomainError(f"导出文件名应以 .xlsx 结尾：{path.name}")
    conf = settings or get_settings()
    rows = _org_rows(session, (lambda v: v) if addresses else (lambda v: mask_address(conf, v)))
    wb = Workbook()
    default = wb.active
    if default is not None:
        wb.remove(default)
    for spec in SHEETS:
        _fill(wb.create_sheet(spec.name), spec, rows[spec.name])
    save_workbook(wb, path)
    return {
        "units": len(rows[UNITS.name]),
        "people": len(rows[PEOPLE.name]),
        "conflicts": len(rows[CONFLICTS.name]),
        "recipients": len(rows[RECIPIENTS.name]),
        "accounts": len(rows[ACCOUNTS.name]),
    }
