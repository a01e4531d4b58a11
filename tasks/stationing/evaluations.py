"""民主测评 and 问卷调查: the results offices tally in their own sheets, imported per unit and
item (the count of each answer, how many took part, a score where there is one), checked as a
whole before anything is written, and drawn as charts for the unit's report and dossier.

The sheet: one header row, then one row per item. Columns 被巡察单位 (or 单位), 类型 (民主测评 or
问卷调查; may be left out on a sheet named after its type), 项目 (测评项目, 调查项目, 题目), and
optionally 参评人数 and 得分; every other column is an answer (好, 较好, 一般, 差, 满意, 不满意 …)
whose cells are counts. Results are not confidential (counts only, no one named); they stay out
of alerts all the same."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from models.access import Action
from models.errors import DomainError
from models.tables import EvaluationResult, Inspection, InspectionRound, Unit
from tasks.clues.ledger import account, guarded
from tasks.infra.audit import record_event
from tasks.infra.scope import authorise
from tasks.infra.xlsx import read_workbook
from tasks.lifecycle.archived import ensure_not_archived
from tasks.records.charts import evaluation_chart

WHAT = "民主测评和问卷调查结果表"
ITEM_LIMIT = 200
OPTION_LIMIT = 20
MAX_ERRORS = 30


class EvaluationKind(StrEnum):
    DEMOCRATIC = "民主测评"
    QUESTIONNAIRE = "问卷调查"


# Header words -> the field they fill (the rest are answers).
HEADERS = {"被巡察单位": "unit", "单位": "unit", "类型": "kind", "项目": "item", "测评项目": "item", "调查项目": "item",
           "题目": "item", "参评人数": "respondents", "参加人数": "respondents", "得分": "score", "平均分": "score"}


@dataclass
class Row:
    """One item of one unit as the sheet gives it (`line`: where, for messages)."""

    line: str
    unit: str
    kind: EvaluationKind
    item: str
    counts: dict[str, int] = field(default_factory=dict)
    respondents: int = 0
    score: float | None = None


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _count(value: Any) -> int | None:
    """A non-negative whole number (an empty cell is 0), or None when it is not one."""
    if value is None or _cell(value) == "":
        return 0
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return value if value >= 0 else None
    text = _cell(value)
    return int(text) if text.isdigit() else None


def _sheet_rows(title: str, rows: list[tuple[Any, ...]], errors: list[str]) -> list[Row]:
    body = [(n, r) for n, r in enumerate(rows, 1) if any(_cell(v) for v in r)]
    if not body:
        return []
    (head_no, head), data = body[0], body[1:]
    where = f"工作表“{title}”"
    names = [_cell(v) for v in head]
    roles: dict[int, str] = {}
    options: dict[int, str] = {}
    for i, name in enumerate(names):
        if not name:
            continue
        if name in HEADERS:
            if HEADERS[name] in roles.values():
                errors.append(f"{where}第{head_no}行：“{name}”一列重复")
            roles[i] = HEADERS[name]
        elif len(name) > OPTION_LIMIT:
            errors.append(f"{where}第{head_no}行：列名“{name[:OPTION_LIMIT]}…”超过{OPTION_LIMIT}字")
        elif name in options.values():
            errors.append(f"{where}第{head_no}行：答案“{name}”一列重复")
        else:
            options[i] = name
    sheet_kind = title if title in {k.value for k in EvaluationKind} else ""
    missing = [w for w, f in (("被巡察单位", "unit"), ("项目", "item")) if f not in roles.values()]
    if "kind" not in roles.values() and not sheet_kind:
        missing.append("类型")
    if missing or not options:
        errors.append(f"{where}第{head_no}行：表头缺少" + "、".join(missing + ([] if options else ["答案列（如 好、较好、一般、差）"])))
        return []
    out: list[Row] = []
    for n, raw in data:
        line = f"{where}第{n}行"
        cells = {roles[i]: raw[i] for i in roles if i < len(raw)}
        stray = [i + 1 for i in range(len(raw)) if i not in roles and i not in options and _cell(raw[i])]
        if stray:
            errors.append(f"{line}：第{'、'.join(map(str, stray))}列有内容但没有列名")
        unit, item = _cell(cells.get("unit")), _cell(cells.get("item"))
        kind_text = _cell(cells.get("kind")) or sheet_kind
        if not unit:
            errors.append(f"{line}：被巡察单位不能为空")
        if not item:
            errors.append(f"{line}：项目不能为空")
        elif len(item) > ITEM_LIMIT:
            errors.append(f"{line}：项目超过{ITEM_LIMIT}字")
        try:
            kind = EvaluationKind(kind_text)
        except ValueError:
            errors.append(f"{line}：类型“{kind_text}”无法识别（应为民主测评或问卷调查）")
            continue
        counts: dict[str, int] = {}
        known = len(errors)
        for i, option in options.items():
            value = raw[i] if i < len(raw) else None
            got = _count(value)
            if got is None:
                errors.append(f"{line}：“{option}”的人数“{_cell(value)}”应为不小于0的整数")
            else:
                counts[option] = got
        total = sum(counts.values())
        respondents = total
        if _cell(cells.get("respondents")):
            given = _count(cells.get("respondents"))
            if given is None:
                errors.append(f"{line}：参评人数“{_cell(cells.get('respondents'))}”应为不小于0的整数")
            elif given < total:
                errors.append(f"{line}：参评人数{given}少于各答案人数之和{total}")
            else:
                respondents = given
        if respondents == 0 and len(errors) == known:  # not when a count was unreadable
            errors.append(f"{line}：没有任何人数")
        score: float | None = None
        if _cell(cells.get("score")):
            try:
                score = float(_cell(cells.get("score")))
            except ValueError:
                errors.append(f"{line}：得分“{_cell(cells.get('score'))}”应为0到100之间的数")
            else:
                if not 0 <= score <= 100:
                    errors.append(f"{line}：得分{score:g}应在0到100之间")
                    score = None
        out.append(Row(line=line, unit=unit, kind=kind, item=item, counts=counts, respondents=respondents, score=score))
    return out


def parse_evaluation_sheet(path: Path) -> list[Row]:
    """Every item of every sheet of the workbook; one DomainError listing every problem (the first
    {MAX_ERRORS}) when any row is wrong, so nothing is imported from a half-right sheet."""
    if path.suffix.lower() != ".xlsx":
        raise DomainError(f"{WHAT}应为 Excel 工作簿（.xlsx）：{path.name}")
    errors: list[str] = []
    rows = [r for title, values in read_workbook(path, what=WHAT).items() for r in _sheet_rows(title, values, errors)]
    seen: dict[tuple[str, str, str], str] = {}
    for r in rows:
        key = (r.unit, r.kind.value, r.item)
        if key in seen:
            errors.append(f"{r.line}：{r.unit}的{r.kind.value}项目“{r.item}”与{seen[key]}重复")
        seen.setdefault(key, r.line)
    if not rows and not errors:
        errors.append("表中没有任何测评或调查项目")
    if errors:
        more = f"\n……另有{len(errors) - MAX_ERRORS}处错误" if len(errors) > MAX_ERRORS else ""
        raise DomainError(f"{WHAT}有误，整表未导入：\n" + "\n".join(errors[:MAX_ERRORS]) + more)
    return rows


def import_evaluations(*, session: Session, by: str, round_name: str, rows: list[Row], now: datetime) -> dict[str, int]:
    """Store the rows for the round's units, in one transaction: an item imported again is
    replaced (a corrected sheet), other items of the unit stay. Returns {unit: items written}."""
    def work() -> dict[str, int]:
        acc = account(session, by)
        rnd = session.exec(select(InspectionRound).where(InspectionRound.name == round_name.strip())).first()
        if rnd is None:
            raise DomainError(f"未知的巡察轮次：{round_name}")
        insps = {u.name: i for i, u in session.exec(select(Inspection, Unit).join(Unit, col(Unit.id) == Inspection.unit_id)
                                                    .where(Inspection.round_id == rnd.id))}
        unknown = sorted({r.unit for r in rows if r.unit not in insps})
        if unknown:
            raise DomainError(f"{'、'.join(unknown)}不在{rnd.name}的巡察范围内，整表未导入")
        written: dict[str, int] = {}
        for name in dict.fromkeys(r.unit for r in rows):
            insp = insps[name]
            authorise(session=session, account=acc, action=Action.IMPORT_EVALUATIONS, inspection=insp)
            ensure_not_archived(session=session, inspection=insp, action="导入民主测评和问卷调查结果")
        for n, r in enumerate(rows):
            insp = insps[r.unit]
            old = session.exec(select(EvaluationResult).where(
                EvaluationResult.inspection_id == insp.id, EvaluationResult.kind == r.kind.value,
                EvaluationResult.item == r.item)).first()
            row = old or EvaluationResult(inspection_id=insp.id or 0, kind=r.kind.value, item=r.item,
                                          imported_by=acc.name, imported_at=now)
            row.position, row.counts, row.respondents, row.score = n, r.counts, r.respondents, r.score
            row.imported_by, row.imported_at = acc.name, now
            session.add(row)
            written[r.unit] = written.get(r.unit, 0) + 1
        session.flush()
        for name, count in written.items():
            record_event(session=session, actor=acc.name, action="导入民主测评和问卷调查结果", entity="inspection",
                         entity_id=insps[name].id, now=now, detail={"items": count})
        session.commit()
        return written

    return guarded(session, by=by, action="导入民主测评和问卷调查结果", entity="round", entity_id=None, now=now, work=work)


def results_of(*, session: Session, inspection_id: int) -> list[EvaluationResult]:
    return list(session.exec(select(EvaluationResult).where(EvaluationResult.inspection_id == inspection_id)
                             .order_by(col(EvaluationResult.kind), col(EvaluationResult.position), col(EvaluationResult.id))))


def _answers(counts: dict[str, int]) -> str:
    return "，".join(f"{k}{v}人" for k, v in counts.items())


def result_lines(*, session: Session, inspection_id: int) -> list[dict[str, Any]]:
    """The unit's results as the report and the records workbook show them."""
    return [{"kind": r.kind, "item": r.item, "respondents": r.respondents, "answers": _answers(r.counts),
             "score": "" if r.score is None else f"{r.score:g}"} for r in results_of(session=session, inspection_id=inspection_id)]


def evaluation_charts(*, session: Session, inspection_id: int, label: str, directory: Path) -> list[Path]:
    """One chart per kind the unit has results of (PNG files named by the inspection id)."""
    results = results_of(session=session, inspection_id=inspection_id)
    paths = []
    for n, kind in enumerate(EvaluationKind, 1):
        rows = [(r.item, r.counts, r.score) for r in results if r.kind == kind.value]
        if rows:
            paths.append(evaluation_chart(title=f"{label}：{kind.value}结果", rows=rows,
                                          path=directory / f"inspection-{inspection_id}-evaluation-{n}.png"))
    return paths
