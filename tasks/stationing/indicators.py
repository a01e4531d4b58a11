"""Health-check indicators (政治体检指标) that guide stationing (#27, after Dinghai's “三十项”).

The office keeps an indicator library (imported from and exported to Excel: 指标, 类别, 问题表现,
如何巡察, 有何要求, 适用单位类型); the project ships a SAMPLE of ten (巡察指标示例.xlsx beside this module) written from the categories the
field reports use, marked 示例 wherever it shows — never an official list. For each unit the team
records which indicators it examined, by which methods (个别谈话, 问卷调查 …) and with which findings;
the coverage (examined / applicable, methods used) is read while stationing and at 巡察组提交报告,
where an unexplained gap (an indicator not examined, a method not used) is refused.

Domain functions only: keyword arguments, time injected, one transaction per call. Indicator text,
methods and finding numbers are not confidential; no clue or talk content is read here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlmodel import Session, col, select

from models.access import Action, Forbidden
from models.db import get_or_raise
from models.enums import Stage, UnitKind
from models.errors import DomainError, NotFound, reason
from models.indicator_tables import CoverageGap, Indicator, IndicatorCheck
from models.tables import Account, Finding, Inspection, InspectionRound, Unit
from models.text import LineText, LongText
from tasks.infra.audit import record_event
from tasks.infra.scope import authorise
from tasks.infra.xlsx import append_row, new_workbook, read_workbook, save_workbook
from tasks.lifecycle.archived import ensure_not_archived

# The methods the reports name (Luquan: talks alone gave no clue; combine them). The first eight
# are expected at every unit: one not used is a gap the team explains at 巡察组提交报告.
EXPECTED_METHODS: tuple[str, ...] = ("个别谈话", "问卷调查", "民主测评", "实地考察", "寻找知情人", "信访", "暗访", "查阅资料")
METHODS: tuple[str, ...] = (*EXPECTED_METHODS, "听取汇报", "列席会议", "抽查个人有关事项报告")
SAMPLE_MARK = "示例"
# Workbook columns in order (README “巡察指标库”); 示例 is written on export so a sample stays marked.
COLUMNS: dict[str, str] = {"指标": "name", "类别": "category", "问题表现": "symptoms", "如何巡察": "how",
                           "有何要求": "requirement", "适用单位类型": "unit_kinds", "示例": "sample"}
REQUIRED = ("指标", "类别")
SHEET = "巡察指标"
YES, NO = {"是", "y", "yes", "true", "1", "√"}, {"否", "", "n", "no", "false", "0"}
REASON_MIN = 4  # characters: “无” or “略” is not a reason

# A SAMPLE, written for this project from the categories the field reports use (党的领导, 党的建设,
# 全面从严治党, 选人用人, 巡察整改 …). Not Dinghai's list, not an official one: shipped as a workbook in
# the import format (every row 示例 = 是), read by the same function as the office's own list.
SAMPLE_FILE = Path(__file__).with_name("巡察指标示例.xlsx")


def _kinds(value: Any) -> list[str]:
    if isinstance(value, list):
        parts = [str(v) for v in value]
    else:
        parts = str(value or "").replace("，", ",").replace("、", ",").split(",")
    kinds = list(dict.fromkeys(p.strip() for p in parts if p.strip()))
    wrong = [k for k in kinds if k not in {u.value for u in UnitKind}]
    if wrong:
        raise ValueError(f"“{'、'.join(wrong)}”不是单位类型（应为：{'、'.join(u.value for u in UnitKind)}，空白为全部类型）")
    return kinds


class IndicatorIn(BaseModel):
    """One row of the indicator workbook."""

    name: LineText = Field(title="指标", min_length=1, max_length=100)
    category: LineText = Field(title="类别", min_length=1, max_length=50)
    symptoms: LongText = Field(default="", title="问题表现", max_length=2000)
    how: LongText = Field(default="", title="如何巡察", max_length=2000)
    requirement: LongText = Field(default="", title="有何要求", max_length=2000)
    unit_kinds: list[str] = Field(default_factory=list, title="适用单位类型")
    sample: bool = Field(default=False, title="示例")

    @field_validator("unit_kinds", mode="before")
    @classmethod
    def _unit_kinds(cls, value: Any) -> list[str]:
        return _kinds(value)

    @field_validator("sample", mode="before")
    @classmethod
    def _sample(cls, value: Any) -> bool:
        text = str(value if value is not None else "").strip().lower()
        if text in YES:
            return True
        if text in NO:
            return False
        raise ValueError("应填“是”或“否”")


def shown_name(indicator: Indicator) -> str:
    """The name as people see it: a sample row always says so."""
    return f"{indicator.name}（{SAMPLE_MARK}）" if indicator.sample else indicator.name


# Library ---------------------------------------------------------------------------------------


def read_indicator_file(path: Path) -> list[IndicatorIn]:
    """The rows of an indicator workbook (the first sheet), or one Chinese error listing every bad row."""
    if path.suffix.lower() != ".xlsx":
        raise DomainError(f"不支持的文件类型：{path.suffix or '无扩展名'}（指标库请使用 .xlsx）")
    if not path.exists():
        raise DomainError(f"找不到文件：{path}")
    sheets = read_workbook(path, what="巡察指标库")
    table = sheets.get(SHEET) or next(iter(sheets.values()), [])
    if not table or not any(table[0]):
        raise DomainError("指标库为空：第一行应为表头（指标、类别、问题表现、如何巡察、有何要求、适用单位类型）")
    header = ["" if h is None else str(h).strip() for h in table[0]]
    unknown = [h for h in header if h and h not in COLUMNS]
    missing = [h for h in REQUIRED if h not in header]
    if unknown or missing:
        raise DomainError("指标库表头有误：" + "；".join(
            ([f"缺少列：{'、'.join(missing)}"] if missing else []) + ([f"不认识的列：{'、'.join(unknown)}"] if unknown else [])))
    rows: list[IndicatorIn] = []
    problems: list[str] = []
    names: dict[str, int] = {}
    for n, raw in enumerate(table[1:], start=2):
        cells = {COLUMNS[h]: ("" if v is None else str(v)) for h, v in zip(header, raw, strict=False) if h}
        if not any(v.strip() for v in cells.values()):
            continue
        try:
            row = IndicatorIn.model_validate(cells)
        except ValidationError as exc:
            for err in exc.errors():
                title = next((h for h, k in COLUMNS.items() if err["loc"] and k == err["loc"][0]), "")
                problems.append(f"第{n}行：“{title}”{reason(err)}")
            continue
        if row.name in names:
            problems.append(f"第{n}行：指标“{row.name}”与第{names[row.name]}行重复")
            continue
        names[row.name] = n
        rows.append(row)
    if problems:
        raise DomainError("指标库有误，未导入任何内容：\n" + "\n".join(problems), problems)
    if not rows:
        raise DomainError("指标库中没有指标（表头以下都是空行）")
    return rows


def import_indicators(*, session: Session, rows: list[IndicatorIn], by: str, now: datetime,
                      replace: bool = False) -> dict[str, int]:
    """Add or update (by name) every row. Indicators not in the rows stay as they are, or with
    `replace` leave the library (kept for the examinations that name them: 示例 rows replaced by the
    office's own list). One transaction."""
    known = {i.name: i for i in session.exec(select(Indicator))}
    added = updated = retired = 0
    if replace:
        names = {r.name for r in rows}
        for gone in known.values():
            if gone.active and gone.name not in names:
                gone.active, gone.updated_at = False, now
                session.add(gone)
                retired += 1
    for row in rows:
        ind = known.get(row.name)
        if ind is None:
            ind = Indicator(name=row.name, category=row.category, updated_at=now)
            added += 1
        else:
            updated += 1
        ind.category, ind.symptoms, ind.how, ind.requirement = row.category, row.symptoms, row.how, row.requirement
        ind.unit_kinds, ind.sample, ind.active, ind.updated_at = list(row.unit_kinds), row.sample, True, now
        session.add(ind)
    session.flush()
    record_event(session=session, actor=by, action="导入巡察指标库", entity="indicator", entity_id=None, now=now,
                 detail={"added": added, "updated": updated, "retired": retired})
    return {"added": added, "updated": updated, "retired": retired}


def sample_rows() -> list[IndicatorIn]:
    """The shipped SAMPLE, read through the import (marked 示例 even where the file was edited to say otherwise)."""
    return [r.model_copy(update={"sample": True}) for r in read_indicator_file(SAMPLE_FILE)]


def load_sample(*, session: Session, by: str, now: datetime) -> dict[str, int]:
    """The shipped SAMPLE (示例) into the library."""
    return import_indicators(session=session, rows=sample_rows(), by=by, now=now)


def library(*, session: Session) -> list[Indicator]:
    return list(session.exec(select(Indicator).where(col(Indicator.active).is_(True))
                             .order_by(col(Indicator.id))))  # the order the office entered them


def export_indicators(*, session: Session, path: Path) -> int:
    """The library as a workbook in the import format (edit it and import it again)."""
    wb = new_workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    append_row(ws, COLUMNS)
    rows = library(session=session)
    for i in rows:
        append_row(ws, [i.name, i.category, i.symptoms, i.how, i.requirement, "、".join(i.unit_kinds),
                        "是" if i.sample else "否"])
    ws.freeze_panes = "A2"
    save_workbook(wb, path)
    return len(rows)


# Examination -----------------------------------------------------------------------------------


def applicable(*, session: Session, inspection: Inspection) -> list[Indicator]:
    """The library's indicators that apply to the unit's kind (an indicator without kinds applies to all)."""
    unit = session.get(Unit, inspection.unit_id)
    kind = str(unit.kind) if unit else ""
    return [i for i in library(session=session) if not i.unit_kinds or kind in i.unit_kinds]


def _indicator(session: Session, name: str) -> Indicator:
    text = name.strip().removesuffix(f"（{SAMPLE_MARK}）")
    ind = session.exec(select(Indicator).where(Indicator.name == text, col(Indicator.active).is_(True))).first()
    if ind is None:
        raise NotFound(f"指标库中没有指标“{name.strip()}”（xuncha indicators 列出全部指标）")
    return ind


def record_check(*, session: Session, account: Account, inspection: Inspection, indicator: str, methods: list[str],
                 finding_ids: list[int], note: str, now: datetime) -> IndicatorCheck:
    """The team examined `indicator` at this unit by `methods`, finding `finding_ids`. Recorded again,
    the methods and findings are added to what is there. Only while stationing (集中巡察)."""
    authorise(session=session, account=account, action=Action.RECORD_EXAMINATION, inspection=inspection)
    ensure_not_archived(session=session, inspection=inspection, action=Action.RECORD_EXAMINATION.value)
    if inspection.stage != Stage.STATIONING:
        raise DomainError(f"当前阶段为“{Stage(inspection.stage).value}”，只有集中巡察阶段可以登记指标核查情况")
    ind = _indicator(session, indicator)
    if ind.unit_kinds and str(get_or_raise(session, Unit, inspection.unit_id, "单位").kind) not in ind.unit_kinds:
        raise DomainError(f"指标“{ind.name}”只适用于{'、'.join(ind.unit_kinds)}，不适用于该单位")
    used = [m.strip() for m in methods if m.strip()]
    wrong = [m for m in used if m not in METHODS]
    if wrong:
        raise DomainError(f"不认识的巡察方法：{'、'.join(wrong)}（应为：{'、'.join(METHODS)}）")
    if not used:
        raise DomainError("请至少填写一种巡察方法（如 个别谈话、查阅资料）")
    if len(note) > 2000:
        raise DomainError("核查说明不能超过2000个字")
    own = set(session.exec(select(Finding.id).where(Finding.inspection_id == inspection.id)))
    strange = [f for f in finding_ids if f not in own]
    if strange:
        raise DomainError(f"问题{'、'.join(map(str, strange))}不是该单位登记的问题（findings 命令列出编号）")
    checks = list(session.exec(select(IndicatorCheck).where(IndicatorCheck.inspection_id == inspection.id)))
    for other in checks:
        if other.indicator_id != ind.id:
            taken = sorted(set(other.finding_ids) & set(finding_ids))
            if taken:
                name = session.get(Indicator, other.indicator_id)
                raise DomainError(f"问题{'、'.join(map(str, taken))}已关联到指标“{name.name if name else other.indicator_id}”，"
                                  "每个问题只能关联一个指标")
    check = next((c for c in checks if c.indicator_id == ind.id), None)
    if check is None:
        assert ind.id is not None and inspection.id is not None
        check = IndicatorCheck(inspection_id=inspection.id, indicator_id=ind.id, recorded_by=account.name, recorded_at=now)
    check.methods = [m for m in METHODS if m in set(check.methods) | set(used)]
    check.finding_ids = sorted(set(check.finding_ids) | set(finding_ids))
    if note.strip():
        check.note = (check.note + "\n" if check.note else "") + note.strip()
    check.recorded_by, check.recorded_at = account.name, now
    session.add(check)
    session.flush()
    record_event(session=session, actor=account.name, action="登记指标核查情况", entity="inspection",
                 entity_id=inspection.id, now=now,
                 detail={"indicator": ind.name, "methods": used, "findings": sorted(finding_ids)})
    return check


@dataclass(frozen=True)
class Coverage:
    """One unit's coverage: examined / applicable indicators and the expected methods used."""

    label: str
    applicable: tuple[str, ...]
    examined: tuple[tuple[str, tuple[str, ...], int], ...]  # (indicator, methods, findings linked)
    missing: tuple[str, ...]
    methods_used: tuple[str, ...]
    methods_missing: tuple[str, ...]
    findings_linked: int = 0
    findings_total: int = 0
    gap_reason: str = ""
    checks: int = field(default=0)

    @property
    def has_library(self) -> bool:
        return bool(self.applicable)

    @property
    def gaps(self) -> bool:
        return self.has_library and bool(self.missing or self.methods_missing)

    def rate(self) -> str:
        n, total = len(self.applicable) - len(self.missing), len(self.applicable)
        return f"{n}/{total}（{n * 100 / total:.0f}%）" if total else "—"


def coverage(*, session: Session, inspection_id: int) -> Coverage:
    """What the team examined at this unit so far, against the library's applicable indicators. Reads only."""
    insp = session.get(Inspection, inspection_id)
    if insp is None:
        raise NotFound(f"巡察任务不存在：{inspection_id}")
    rnd, unit = session.get(InspectionRound, insp.round_id), session.get(Unit, insp.unit_id)
    label = f"{rnd.name if rnd else ''}·{unit.name if unit else ''}"
    apply = applicable(session=session, inspection=insp)
    names = {i.id: shown_name(i) for i in session.exec(select(Indicator))}
    checks = list(session.exec(select(IndicatorCheck).where(IndicatorCheck.inspection_id == inspection_id)
                               .order_by(col(IndicatorCheck.id))))
    examined_ids = {c.indicator_id for c in checks}
    used = {m for c in checks for m in c.methods}
    total = len(list(session.exec(select(Finding.id).where(Finding.inspection_id == inspection_id))))
    gap = session.exec(select(CoverageGap).where(CoverageGap.inspection_id == inspection_id)
                       .order_by(col(CoverageGap.search_count).desc())).first()
    return Coverage(
        label=label, applicable=tuple(shown_name(i) for i in apply),
        examined=tuple((names.get(c.indicator_id, str(c.indicator_id)), tuple(c.methods), len(c.finding_ids)) for c in checks),
        missing=tuple(shown_name(i) for i in apply if i.id not in examined_ids),
        methods_used=tuple(m for m in METHODS if m in used),
        methods_missing=tuple(m for m in EXPECTED_METHODS if m not in used),
        findings_linked=len({f for c in checks for f in c.finding_ids}), findings_total=total,
        gap_reason=gap.reason if gap else "", checks=len(checks))


def gap_problem(cov: Coverage, reason_text: str) -> str:
    """Why a 巡察组提交报告 answer cannot be taken (a gap left unexplained), or empty."""
    if not cov.gaps or len(reason_text.strip()) >= REASON_MIN:
        return ""
    parts = ([f"未核查的指标 {len(cov.missing)} 项（{'、'.join(cov.missing)}）"] if cov.missing else []) + \
            ([f"未使用的巡察方法：{'、'.join(cov.methods_missing)}"] if cov.methods_missing else [])
    return (f"{'；'.join(parts)}。请在“缺项说明”中写明原因（至少{REASON_MIN}个字），"
            "或先补充登记指标核查情况，再提交巡察报告")


def settle_gap(*, session: Session, inspection_id: int, search_count: int, reason_text: str, by: str,
               now: datetime) -> str:
    """The stationing gate's coverage check and, when it passes with gaps, the reason kept (one
    transaction). Returns the refusal, or empty."""
    cov = coverage(session=session, inspection_id=inspection_id)
    problem = gap_problem(cov, reason_text)
    if problem or not cov.gaps:
        return problem
    row = session.exec(select(CoverageGap).where(CoverageGap.inspection_id == inspection_id,
                                                 CoverageGap.search_count == search_count)).first()
    row = row or CoverageGap(inspection_id=inspection_id, search_count=search_count, reason="", by=by, at=now)
    row.missing_indicators, row.missing_methods = list(cov.missing), list(cov.methods_missing)
    row.reason, row.by, row.at = reason_text.strip()[:2000], by, now
    session.add(row)
    record_event(session=session, actor=by, action="说明指标覆盖缺项", entity="inspection", entity_id=inspection_id,
                 now=now, detail={"missing_indicators": len(cov.missing), "missing_methods": list(cov.methods_missing)})
    return ""


def round_coverage(*, session: Session, account: Account, round_id: int, unit_id: int | None = None) -> list[Coverage]:
    """Coverage of each unit of a round the person may view (a team role: its own team's units)."""
    q = select(Inspection).where(Inspection.round_id == round_id).order_by(col(Inspection.id))
    if unit_id is not None:
        q = q.where(Inspection.unit_id == unit_id)
    out, refused = [], None
    for insp in session.exec(q):
        try:
            authorise(session=session, account=account, action=Action.VIEW_INDICATOR_COVERAGE, inspection=insp)
        except Forbidden as exc:  # another team's unit: left out, unless nothing is left
            refused = refused or exc
            continue
        assert insp.id is not None
        out.append(coverage(session=session, inspection_id=insp.id))
    if not out and refused is not None:
        raise refused
    return out


def coverage_lines(cov: Coverage, *, command_hint: bool = True) -> list[str]:
    """The coverage as plain Chinese lines (CLI and the gate's form; the office page without the
    command's name)."""
    if not cov.has_library:
        return ["指标库中没有适用于该单位的指标" + ("（巡察办可用 import-indicators 导入指标库）" if command_hint else "")]
    lines = [f"指标覆盖：已核查 {cov.rate()}；关联问题 {cov.findings_linked}/{cov.findings_total} 个",
             f"已使用的巡察方法：{'、'.join(cov.methods_used) or '无'}"]
    lines += [f"已核查：{name}（{'、'.join(methods)}；问题 {n} 个）" for name, methods, n in cov.examined]
    lines.append(f"未核查的指标：{'、'.join(cov.missing) or '无'}")
    lines.append(f"未使用的巡察方法：{'、'.join(cov.methods_missing) or '无'}")
    if cov.gap_reason:
        lines.append(f"缺项说明：{cov.gap_reason}")
    return lines


@dataclass(frozen=True)
class UnitCoverage:
    """A unit in stationing or reporting as the office page shows it: its coverage, and whether
    this person may record examinations there now."""

    inspection_id: int
    coverage: Coverage
    may_record: bool
    findings: tuple[tuple[int, str, str, str], ...] = ()  # (number, category, description, indicator)


def coverage_in_reach(*, session: Session, account: Account) -> list[UnitCoverage]:
    """The units on site (集中巡察) or reporting whose coverage this person may view (a team role:
    its own team's), newest round first."""
    q = (select(Inspection).join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
         .where(col(Inspection.stage).in_([Stage.STATIONING, Stage.REPORTING]))
         .order_by(col(InspectionRound.start_date).desc(), col(Inspection.id)))
    out = []
    for insp in session.exec(q):
        assert insp.id is not None
        try:
            authorise(session=session, account=account, action=Action.VIEW_INDICATOR_COVERAGE, inspection=insp)
        except Forbidden:
            continue
        try:
            authorise(session=session, account=account, action=Action.RECORD_EXAMINATION, inspection=insp)
            may = insp.stage == Stage.STATIONING
        except Forbidden:
            may = False
        out.append(UnitCoverage(insp.id, coverage(session=session, inspection_id=insp.id), may,
                                _findings(session, insp.id)))
    return out


def _findings(session: Session, inspection_id: int) -> tuple[tuple[int, str, str, str], ...]:
    """The unit's findings with their numbers and the indicator each is linked to, so the team can
    name them when it records an examination."""
    names = {i.id: shown_name(i) for i in session.exec(select(Indicator))}
    linked = {f: names.get(c.indicator_id, "") for c in session.exec(
        select(IndicatorCheck).where(IndicatorCheck.inspection_id == inspection_id)) for f in c.finding_ids}
    return tuple((f.id or 0, f.category, f.description, linked.get(f.id or 0, "")) for f in session.exec(
        select(Finding).where(Finding.inspection_id == inspection_id).order_by(col(Finding.id))))


def finding_numbers(text: str) -> list[int]:
    """“12、13, 14” → [12, 13, 14]; a Chinese error for anything that is not a number."""
    parts = [p.strip() for p in text.replace("，", ",").replace("、", ",").replace(" ", ",").split(",") if p.strip()]
    wrong = [p for p in parts if not p.isdigit()]
    if wrong:
        raise DomainError(f"问题编号应为数字，用顿号分隔：{'、'.join(wrong)}")
    return [int(p) for p in parts]
