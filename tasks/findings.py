"""Findings (问题) recorded during stationing: from the deployment form or an Excel/CSV sheet."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from models.enums import ClueKind, FindingScope, Stage
from models.errors import DomainError, reason
from models.forms import FindingIn
from models.tables import Clue, Finding, Inspection, InspectionRound, Unit
from tasks.archived import ensure_not_archived
from tasks.audit import record_event
from tasks.textio import read_text
from tasks.xlsx import MAX_ROWS, read_workbook

# Sheet columns, in order (documented in the README).
COLUMNS = {"问题类别": "category", "问题描述": "description", "证据材料": "evidence", "问题性质": "scope", "立行立改": "fixed_on_site"}
# Compared case-insensitively: an Excel TRUE/FALSE cell reads as "True"/"False".
YES = {"是", "已", "y", "yes", "true", "1", "√"}
NO = {"否", "", "n", "no", "false", "0"}


def _id(inspection: Inspection) -> int:
    assert inspection.id is not None
    return inspection.id


def find_inspection(*, session: Session, round_name: str, unit_name: str) -> Inspection:
    rnd = session.exec(select(InspectionRound).where(InspectionRound.name == round_name)).first()
    if rnd is None:
        raise DomainError(f"未知的巡察轮次：{round_name}")
    unit = session.exec(select(Unit).where(Unit.name == unit_name)).first()
    if unit is None:
        raise DomainError(f"未知的被巡察单位：{unit_name}")
    insp = session.exec(select(Inspection).where(Inspection.round_id == rnd.id, Inspection.unit_id == unit.id)).first()
    if insp is None:
        raise DomainError(f"{unit_name} 不在 {round_name} 的巡察范围内")
    return insp


def record_findings(*, session: Session, inspection: Inspection, findings: list[FindingIn], by: str, now: datetime) -> list[Finding]:
    """Record findings; only while the team is on site (集中巡察)."""
    ensure_not_archived(session=session, inspection=inspection, action="登记问题")
    if inspection.stage != Stage.STATIONING:
        raise DomainError(f"当前阶段为“{Stage(inspection.stage).value}”，只有集中巡察阶段可以登记问题")
    rows = [
        Finding(inspection_id=_id(inspection), category=f.category.strip(), description=f.description.strip(),
                evidence=f.evidence.strip(), scope=FindingScope(f.scope), fixed_on_site=f.fixed_on_site,
                search_count=inspection.search_count, created_at=now)
        for f in findings
    ]
    session.add_all(rows)
    session.flush()
    record_event(session=session, actor=by, action="登记问题", entity="inspection", entity_id=inspection.id,
                 now=now, detail={"count": len(rows)})
    return rows


def _read_rows(path: Path) -> tuple[list[dict[str, str]], str | None]:
    """The data rows by header, and the text encoding (None for a workbook)."""
    if not path.exists():
        raise DomainError(f"找不到文件：{path}")
    suffix = path.suffix.lower()
    encoding: str | None = None
    if suffix == ".csv":
        text, encoding = read_text(path, what="问题清单")
        try:
            table = [row for row in csv.reader(io.StringIO(text, newline=""))]
        except csv.Error as exc:
            raise DomainError(f"无法读取问题清单：{path.name} 不是有效的 CSV（{exc}）") from exc
        if len(table) > MAX_ROWS:
            raise DomainError(f"问题清单超过{MAX_ROWS}行，请拆分后再导入")
    elif suffix == ".xlsx":
        sheet = next(iter(read_workbook(path, what="问题清单", active_only=True).values()), [])
        table = [["" if v is None else str(v) for v in row] for row in sheet]
    else:
        raise DomainError(f"不支持的文件类型：{suffix or '无扩展名'}（请使用 .xlsx 或 .csv）")
    if not table or not any(c.strip() for c in table[0]):
        raise DomainError("问题清单为空或缺少表头")
    header = [c.strip() for c in table[0]]
    missing = [c for c in ("问题类别", "问题描述") if c not in header]
    if missing:
        raise DomainError(f"问题清单缺少必需的列：{'、'.join(missing)}（表头应为：{'、'.join(COLUMNS)}）")
    out = []
    for row in table[1:]:
        if not any(str(c).strip() for c in row):
            continue
        out.append({h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header)})
    if not out:
        raise DomainError("问题清单没有数据行")
    return out, encoding


def parse_sheet(path: Path) -> list[FindingIn]:
    """Parse every row; any bad row fails the whole sheet, listing each row's problem."""
    return parse_sheet_file(path)[0]


def parse_sheet_file(path: Path) -> tuple[list[FindingIn], str | None]:
    """`parse_sheet`, and the text encoding of a .csv (None for a workbook)."""
    rows, encoding = _read_rows(path)
    problems: list[str] = []
    parsed: list[FindingIn] = []
    for n, row in enumerate(rows, start=2):
        fixed_raw = row.get("立行立改", "")
        fixed_key = fixed_raw.lower()
        if fixed_key not in YES | NO:
            problems.append(f"第{n}行：“立行立改”应填“是”或“否”，实为“{fixed_raw}”")
            continue
        data = {field: row.get(col, "") for col, field in COLUMNS.items() if col != "立行立改"}
        data["scope"] = data["scope"] or "个性问题"
        try:
            parsed.append(FindingIn.model_validate({**data, "fixed_on_site": fixed_key in YES}))
        except ValidationError as exc:
            for e in exc.errors():
                col = next((c for c, f in COLUMNS.items() if f == e["loc"][0]), str(e["loc"][0]))
                problems.append(f"第{n}行“{col}”：{_msg(e)}")
    if problems:
        raise DomainError("问题清单未导入（整表未写入）", problems)
    return parsed, encoding


def _msg(error: Any) -> str:
    kind = error["type"]
    if kind == "string_too_short":
        return "不能为空或过短"
    if kind == "string_too_long":
        return "内容过长"
    if kind == "literal_error":
        return "应为“个性问题”或“共性问题”"
    return reason(error)


def add_clue(*, session: Session, inspection: Inspection, kind: str, summary: str, by: str, now: datetime) -> Clue:
    """Record a clue (confidential: its text stays in this database)."""
    try:
        clue_kind = ClueKind(kind)
    except ValueError:
        raise DomainError(f"未知的线索类型：{kind}（可选：{'、'.join(k.value for k in ClueKind)}）") from None
    if not summary.strip():
        raise DomainError("线索内容不能为空")
    ensure_not_archived(session=session, inspection=inspection, action="登记线索")
    if inspection.stage not in (Stage.STATIONING, Stage.REPORTING):
        raise DomainError("只有集中巡察和报告阶段可以登记线索")
    clue = Clue(inspection_id=_id(inspection), kind=clue_kind, summary=summary.strip(), created_at=now)
    session.add(clue)
    session.flush()
    record_event(session=session, actor=by, action="登记线索", entity="clue", entity_id=clue.id, now=now,
                 detail={"kind": clue_kind.value})
    return clue
