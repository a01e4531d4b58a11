"""Findings (问题) recorded during stationing: from the deployment form or an Excel/CSV sheet."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.access import Action, require
from models.db import get_or_raise
from models.enums import FindingScope, Stage
from models.errors import DomainError, reason
from models.forms import FindingIn
from models.tables import Finding, Inspection, InspectionRound, Unit
from tasks.infra.audit import record_event
from tasks.infra.scope import authorise
from tasks.infra.textio import read_text
from tasks.infra.xlsx import MAX_ROWS, read_workbook
from tasks.lifecycle.archived import ensure_not_archived

# Sheet columns, in order (documented in docs/data-files.md).
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


def finding_hash(category: str, description: str, *, salt: str = "") -> str:
    """What makes a finding the same problem for one unit: its category and description, with
    spacing normalised. Evidence, scope and 立行立改 may change (correct-finding) without making
    it another problem. models/migrations/versions/0005 holds a frozen copy."""
    def norm(text: str) -> str:
        return " ".join(text.split())
    return hashlib.sha256(json.dumps([salt, norm(category), norm(description)], ensure_ascii=False).encode()).hexdigest()


CONCURRENT_IMPORT = "同一单位的问题清单正在被同时导入，本次未写入任何内容；请稍后重新导入（已登记的问题不会重复登记）"


def add_unique(session: Session, rows: list[Finding]) -> None:
    """Insert rows whose hashes the caller checked; a parallel import that got there first makes
    the unique constraint refuse the whole batch, in Chinese, rather than store a copy."""
    try:
        with session.begin_nested():
            session.add_all(rows)
            session.flush()
    except IntegrityError:
        raise DomainError(CONCURRENT_IMPORT) from None


def ensure_may_record(*, session: Session, inspection: Inspection) -> None:
    """DomainError unless findings may be recorded for this unit now (集中巡察, not archived)."""
    ensure_not_archived(session=session, inspection=inspection, action="登记问题")
    if inspection.stage != Stage.STATIONING:
        raise DomainError(f"当前阶段为“{Stage(inspection.stage).value}”，只有集中巡察阶段可以登记问题")


def record_findings(*, session: Session, inspection: Inspection, findings: list[FindingIn], by: str, now: datetime) -> list[Finding]:
    """Record findings; only while the team is on site (集中巡察). Idempotent: a finding already
    recorded for this unit (the same category and description) is not stored again, so the same
    sheet imported twice adds nothing. Returns the rows newly stored."""
    ensure_may_record(session=session, inspection=inspection)
    known = set(session.exec(select(Finding.content_hash).where(Finding.inspection_id == _id(inspection))))
    rows: list[Finding] = []
    for f in findings:
        digest = finding_hash(f.category, f.description)
        if digest in known:
            continue
        known.add(digest)
        rows.append(Finding(inspection_id=_id(inspection), category=f.category.strip(), description=f.description.strip(),
                            evidence=f.evidence.strip(), scope=FindingScope(f.scope), fixed_on_site=f.fixed_on_site,
                            search_count=inspection.search_count, created_at=now, content_hash=digest))
    add_unique(session, rows)
    record_event(session=session, actor=by, action="登记问题", entity="inspection", entity_id=inspection.id,
                 now=now, detail={"count": len(rows), "already_recorded": len(findings) - len(rows)})
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
    twice = sorted({c for c in header if c and header.count(c) > 1}, key=header.index)
    if twice:  # which of the two columns is meant cannot be guessed: one would be dropped silently
        raise DomainError(f"问题清单的表头中“{'”“'.join(twice)}”出现了不止一次，请只保留一列后再导入（整表未写入）")
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


# --- corrections during stationing (更正、撤回) ---------------------------------------------

FIELD_NAMES = {field: col for col, field in COLUMNS.items()}


def _finding_in_reach(session: Session, *, by: str, finding_id: int, action: Action, verb: str) -> tuple[Finding, Inspection]:
    from tasks.clues.ledger import account  # the same register of people the clue commands use

    acc = account(session, by)
    require(acc.role, action)
    row = get_or_raise(session, Finding, finding_id, "问题")
    insp = ensure_not_archived(session=session, inspection=row.inspection_id, action=verb)
    authorise(session=session, account=acc, action=action, inspection=insp)
    if insp.stage != Stage.STATIONING:
        raise DomainError(f"当前阶段为“{Stage(insp.stage).value}”，只有集中巡察阶段可以{verb}")
    return row, insp


def correct_finding(*, session: Session, by: str, finding_id: int, changes: dict[str, str], now: datetime) -> Finding:
    """Change fields of a finding (sheet column name -> new text) during stationing, audited with
    the old and new values; the whole change is refused if any value is bad."""
    from tasks.clues.ledger import guarded

    def work() -> Finding:
        row, insp = _finding_in_reach(session, by=by, finding_id=finding_id, action=Action.CORRECT_FINDING, verb="更正问题")
        unknown = [c for c in changes if c not in COLUMNS]
        if unknown:
            raise DomainError(f"无法更正的字段：{'、'.join(unknown)}（可更正：{'、'.join(COLUMNS)}）")
        if not changes:
            raise DomainError(f"请用 --field 字段=新内容 指明要更正的内容（可更正：{'、'.join(COLUMNS)}）")
        data: dict[str, Any] = {"category": row.category, "description": row.description, "evidence": row.evidence,
                                "scope": FindingScope(row.scope).value, "fixed_on_site": row.fixed_on_site}
        for column, value in changes.items():
            if column == "立行立改":
                if value.strip().lower() not in YES | NO:
                    raise DomainError(f"“立行立改”应填“是”或“否”，实为“{value}”")
                data["fixed_on_site"] = value.strip().lower() in YES
            else:
                data[COLUMNS[column]] = value.strip()
        try:
            new = FindingIn.model_validate(data)
        except ValidationError as exc:
            raise DomainError("问题未更正", [f"“{FIELD_NAMES.get(str(e['loc'][0]), e['loc'][0])}”：{_msg(e)}"
                                             for e in exc.errors()]) from None
        digest = finding_hash(new.category, new.description)
        twin = session.exec(select(Finding.id).where(Finding.inspection_id == insp.id, Finding.content_hash == digest,
                                                     Finding.id != finding_id)).first()
        if twin is not None:
            raise DomainError(f"更正后与本单位已登记的第{twin}号问题相同；如为重复登记，请撤回其中一个")
        before = {c: str(getattr(row, f)) for c, f in COLUMNS.items() if c in changes}
        row.category, row.description, row.evidence = new.category.strip(), new.description.strip(), new.evidence.strip()
        row.scope, row.fixed_on_site, row.content_hash, row.corrected_at = (
            FindingScope(new.scope), new.fixed_on_site, digest, now)
        session.add(row)
        session.flush()
        record_event(session=session, actor=by.strip(), action="更正问题", entity="finding", entity_id=finding_id, now=now,
                     detail={"before": before, "after": {c: str(getattr(row, f)) for c, f in COLUMNS.items() if c in changes}})
        session.commit()
        return row

    return guarded(session, by=by, action="更正问题", entity="finding", entity_id=finding_id, now=now, work=work)


def withdraw_finding(*, session: Session, by: str, finding_id: int, reason: str, now: datetime) -> None:
    """Take back a finding recorded in error, during stationing; the audit trail keeps what it said and why."""
    from tasks.clues.ledger import guarded

    def work() -> None:
        row, _ = _finding_in_reach(session, by=by, finding_id=finding_id, action=Action.WITHDRAW_FINDING, verb="撤回问题")
        if not reason.strip():
            raise DomainError("请用 --reason 说明撤回原因")
        if len(reason) > 500:
            raise DomainError("撤回原因超过500字")
        record_event(session=session, actor=by.strip(), action="撤回问题", entity="finding", entity_id=finding_id, now=now,
                     detail={"category": row.category, "description": row.description, "evidence": row.evidence,
                             "reason": reason.strip()})
        session.delete(row)
        session.commit()

    guarded(session, by=by, action="撤回问题", entity="finding", entity_id=finding_id, now=now, work=work)
