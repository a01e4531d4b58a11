"""立卷归档: the dossier of one inspected unit (and, when the round finishes, of the round), and
its verification.

A dossier folder holds copies of the documents, a workbook of the records (巡察记录.xlsx), the
catalogue 卷内目录 (.tsv and .xlsx) and `manifest.sha256` with the SHA-256 of every other file in
the folder (the format of `sha256sum`); a zip of the folder sits next to it. `verify_dossier`
names every file missing, changed or extra, checks each document against the SHA-256 registered
for it in the database (so a file edited together with its manifest line is still found) and
the zip against the folder (same names, same contents).

Under the `gm` crypto profile (models/crypto.py) the folder also holds `manifest.sm3`, the SM3 of
every file the SHA-256 manifest lists (in the same format), written first so that the SHA-256
manifest covers it in turn; `verify_dossier` checks it whenever it is there, whatever the profile.

What the records hold, and what they leave out: findings, rectification items and progress
reports, approvals with their decisions, transfer letters, the clue ledger (number, kind,
receiver, status, result, dates), petitions (number, channel, date, whether anonymous) and the
audit events of the inspection, the democratic evaluation and questionnaire results with their
charts, and the indicators examined (methods, linked findings; those not examined; the 组长's
reasons for gaps; each finding's indicator in 问题清单). Clue text, the receiver's handling notes, petition content and informants' identities
stay in the application database (encrypted where they are identities): the dossier on disk may
be copied and handed on, those may not. Talk records are kept the same way: the dossier's
confidential volume (保密卷目录) lists every planned talk and talk record by number, inspector and
day, and says where the person, the reason and the text are kept (encrypted, readable by the
unit's team and the office, every read audited).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, or_, select

from models.access import RECEIVER_NAMES
from models.clock import CHINA, aware
from models.crypto import GM, file_hash
from models.db import get_or_raise
from models.enums import Role, Stage
from models.errors import DomainError, NotFound
from models.indicator_tables import CoverageGap, Indicator, IndicatorCheck
from models.paths import (
    display_part,
    document_dir,
    dossier_path,
    find_named,
    make_folder,
    move_folder,
    remove_folder,
)
from models.settings import Settings
from models.tables import (
    Accountability,
    Approval,
    AuditEvent,
    Clue,
    ClueLetter,
    Document,
    Finding,
    Inspection,
    InspectionRound,
    LookBack,
    LookBackCheck,
    Petition,
    ProgressReport,
    RectificationItem,
    TalkPlan,
    TalkRecord,
    Unit,
)
from models.text import printable
from tasks.infra.audit import record_event
from tasks.infra.xlsx import append_row, new_workbook

if TYPE_CHECKING:
    from openpyxl import Workbook
from tasks.lifecycle.rounds import get_round
from tasks.records.common_letter import COMMON_TASK_KIND
from tasks.records.documents import OFFICE, DocSpec, cn_date, sha256_of, write_document, written

MANIFEST = "manifest.sha256"
MANIFEST_SM3 = "manifest.sm3"
CATALOGUE = "卷内目录"
RECORDS = "巡察记录.xlsx"
CONFIDENTIAL = "保密卷目录（个别谈话）.xlsx"
CONFIDENTIAL_NOTE = ("谈话对象、谈话事由和谈话记录正文加密保存于巡察系统数据库，不随案卷复制；"
                     "由负责该单位的巡察组成员和巡察办凭权限查阅（查阅留痕）。")
SUMMARY_KIND = "巡察工作总结报告"
ARCHIVED_ACTION = "立卷归档"


@dataclass
class Entry:
    """One catalogued file: where it comes from (or None when written here), its name in the
    folder, its title and the day it was made."""

    name: str
    title: str
    made: datetime | date
    source: Path | None = None
    sha256: str = ""  # the registered hash of a document, checked before it is copied


def dossier_folder(settings: Settings, rnd: InspectionRound, unit: Unit | None = None) -> Path:
    """Where a unit's dossier (or, without a unit, the round's 综合卷) is archived: a path built
    from the ids, the names only as a display part (models/paths.py)."""
    assert rnd.id is not None and (unit is None or unit.id is not None)
    return dossier_path(settings, rnd.id, rnd.name, unit.id if unit else None, unit.name if unit else "")


def find_dossier(*, session: Session, settings: Settings, round_name: str, unit_name: str | None = None) -> Path:
    """The dossier folder of a round (its 综合卷) or of one of its units, by their names."""
    rnd = session.exec(select(InspectionRound).where(InspectionRound.name == round_name)).first()
    if rnd is None:
        raise NotFound(f"未知的巡察轮次：{round_name}")
    if not unit_name:
        return dossier_folder(settings, rnd)
    unit = session.exec(select(Unit).join(Inspection, col(Inspection.unit_id) == col(Unit.id)).where(
        Inspection.round_id == rnd.id, Unit.name == unit_name)).first()
    if unit is None:
        raise NotFound(f"{unit_name} 不在 {round_name} 的巡察范围内")
    return dossier_folder(settings, rnd, unit)


def _day(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{aware(value).astimezone(CHINA):%Y-%m-%d}"
    return f"{value:%Y-%m-%d}"


def _time(value: datetime | None) -> str:
    return f"{aware(value).astimezone(CHINA):%Y-%m-%d %H:%M}" if value else ""


def _size(n: int) -> str:
    return f"{n}字节" if n < 1024 else f"{n / 1024:.1f}KB" if n < 1 << 20 else f"{n / (1 << 20):.1f}MB"


# Records -----------------------------------------------------------------------------------


def _sheet(wb: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    append_row(ws, header)
    for row in rows:
        append_row(ws, ["" if v is None else v for v in row])
    for i, name in enumerate(header, 1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, min(60, len(name) * 2 + 4))
    ws.freeze_panes = "A2"


def _enum(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


Ids = dict[str, list[Any]]  # audit entity -> the ids of the rows a sheet holds


def write_records(*, session: Session, inspection: Inspection, path: Path) -> None:
    """The unit's records as one workbook, a sheet per kind (see the module docstring for what is left out)."""
    iid = inspection.id
    wb = new_workbook()
    wb.remove(wb.active)
    mine: Ids = {"inspection": [iid]}
    mine |= _rectification_sheets(session, wb, iid)
    _approval_sheet(session, wb, iid)
    mine |= _clue_sheets(session, wb, iid)
    mine |= _look_back_sheets(session, wb, iid)
    _evaluation_sheet(session, wb, iid)
    _indicator_sheets(session, wb, iid)
    mine |= _talk_ids(session, iid)
    _audit_sheet(session, wb, mine)
    wb.save(str(path))


def _talk_ids(session: Session, iid: int | None) -> Ids:
    """The talks of the unit, for the audit sheet: who planned, recorded and read them, when."""
    return {"talk_plan": list(session.exec(select(TalkPlan.id).where(TalkPlan.inspection_id == iid))),
            "talk_record": list(session.exec(select(TalkRecord.id).where(TalkRecord.inspection_id == iid)))}


def _evaluation_sheet(session: Session, wb: Workbook, iid: int | None) -> None:
    from tasks.stationing.evaluations import result_lines

    _sheet(wb, "民主测评和问卷调查", ["类型", "项目", "参评人数", "各答案人数", "得分"],
           [(r["kind"], r["item"], r["respondents"], r["answers"], r["score"])
            for r in result_lines(session=session, inspection_id=iid or 0)])


def _finding_indicators(session: Session, iid: int | None) -> dict[int, str]:
    """finding id -> the indicator it was found under (as the team recorded the examination)."""
    from tasks.stationing.indicators import shown_name

    names = {i.id: shown_name(i) for i in session.exec(select(Indicator))}
    return {f: names.get(c.indicator_id, str(c.indicator_id))
            for c in session.exec(select(IndicatorCheck).where(IndicatorCheck.inspection_id == iid)) for f in c.finding_ids}


def _indicator_sheets(session: Session, wb: Workbook, iid: int | None) -> None:
    """指标核查: each indicator examined (methods, findings, note, who and when), then each applicable
    one not examined; 指标缺项说明: the reasons the 组长 gave for gaps at 巡察组提交报告."""
    from tasks.stationing.indicators import coverage, shown_name

    names = {i.id: i for i in session.exec(select(Indicator))}
    checks = list(session.exec(select(IndicatorCheck).where(IndicatorCheck.inspection_id == iid).order_by(col(IndicatorCheck.id))))
    cov = coverage(session=session, inspection_id=iid or 0)
    examined = [(shown_name(names[c.indicator_id]) if c.indicator_id in names else str(c.indicator_id),
                 names[c.indicator_id].category if c.indicator_id in names else "", "已核查", "、".join(c.methods),
                 "、".join(map(str, c.finding_ids)), c.note, c.recorded_by, _time(c.recorded_at)) for c in checks]
    category = {shown_name(i): i.category for i in names.values()}
    missing = [(name, category.get(name, ""), "未核查", "", "", "", "", "") for name in cov.missing]
    _sheet(wb, "指标核查", ["指标", "类别", "核查情况", "巡察方法", "关联问题编号", "核查说明", "登记人", "登记时间"],
           examined + missing)
    _sheet(wb, "指标缺项说明", ["第几次查找", "未核查的指标", "未使用的巡察方法", "缺项说明", "说明人", "说明时间"],
           [(g.search_count, "、".join(g.missing_indicators), "、".join(g.missing_methods), g.reason, g.by, _time(g.at))
            for g in session.exec(select(CoverageGap).where(CoverageGap.inspection_id == iid).order_by(col(CoverageGap.search_count)))])


def write_confidential_index(*, session: Session, inspection: Inspection, path: Path) -> None:
    """保密卷目录: the unit's planned talks and talk records by number, inspector and day; never the
    person talked to, the reason or the text (CONFIDENTIAL_NOTE says where they are)."""
    iid = inspection.id
    wb = new_workbook()
    wb.remove(wb.active)
    records = list(session.exec(select(TalkRecord).where(TalkRecord.inspection_id == iid).order_by(col(TalkRecord.id))))
    held: dict[int | None, int | None] = {r.plan_id: r.id for r in records if r.plan_id is not None}
    plans = list(session.exec(select(TalkPlan).where(TalkPlan.inspection_id == iid).order_by(col(TalkPlan.id))))
    _sheet(wb, "说明", ["说明"], [(CONFIDENTIAL_NOTE,), (f"谈话安排{len(plans)}项（已谈{len(held)}项），谈话记录{len(records)}份。",)])
    _sheet(wb, "谈话安排", ["编号", "谈话人", "计划日期", "谈话记录编号", "安排人", "安排时间"],
           [(p.id, p.talker, _day(p.planned_on), held.get(p.id, "（未谈）"), p.created_by, _time(p.created_at))
            for p in plans])
    _sheet(wb, "谈话记录", ["编号", "谈话安排编号", "谈话人", "谈话日期", "登记人", "登记时间"],
           [(r.id, r.plan_id or "（未列入安排）", r.talker, _day(r.held_on), r.recorded_by, _time(r.created_at))
            for r in records])
    wb.save(str(path))


def _rectification_sheets(session: Session, wb: Workbook, iid: int | None) -> Ids:
    """问题清单, 整改事项 and 整改进展."""
    findings = list(session.exec(select(Finding).where(Finding.inspection_id == iid).order_by(col(Finding.id))))
    linked = _finding_indicators(session, iid)
    _sheet(wb, "问题清单", ["问题编号", "问题类别", "问题描述", "证据材料", "问题性质", "立行立改", "第几次查找", "登记时间", "指标"],
           [(f.id, f.category, f.description, f.evidence, _enum(f.scope), "是" if f.fixed_on_site else "否",
             f.search_count, _time(f.created_at), linked.get(f.id or 0, "")) for f in findings])
    items = list(session.exec(select(RectificationItem).where(RectificationItem.inspection_id == iid)
                              .order_by(col(RectificationItem.id))))
    _sheet(wb, "整改事项", ["事项编号", "问题编号", "整改措施", "责任人", "督办人", "整改时限", "状态", "销号时间",
                          "建章立制（项）", "整改佐证", "共性问题编号"],
           [(i.id, i.finding_id, i.measure, i.owner, i.supervisor, _day(i.deadline), _enum(i.status), _time(i.closed_at),
             i.rules_made, i.evidence, i.common_problem_id) for i in items])
    item_ids = [i.id for i in items]
    _sheet(wb, "整改进展", ["编号", "事项编号", "报送时间", "状态", "采取的措施", "佐证材料", "建章立制（项）"],
           [(r.id, r.item_id, _time(r.reported_at), _enum(r.status), r.measure_taken, r.evidence, r.rules_made)
            for r in session.exec(select(ProgressReport).where(col(ProgressReport.item_id).in_(item_ids))
                                   .order_by(col(ProgressReport.id)))])
    return {"rectification_item": item_ids}


def _approval_sheet(session: Session, wb: Workbook, iid: int | None) -> None:
    _sheet(wb, "审批记录", ["审批事项", "第几次", "状态", "决定", "审批人", "意见", "提请时间", "决定时间"],
           [(_enum(a.gate), a.attempt, _enum(a.status), a.decision, a.approver, a.comment, _time(a.requested_at),
             _time(a.decided_at))
            for a in session.exec(select(Approval).where(Approval.inspection_id == iid).order_by(col(Approval.id)))])


def _receiver(value: str) -> str:
    return RECEIVER_NAMES.get(Role(value), value) if value else ""


def _clue_sheets(session: Session, wb: Workbook, iid: int | None) -> Ids:
    """线索移交函, 线索台账 and 信访举报: numbers, kinds, receivers, dates and results, never their text."""
    letters = list(session.exec(select(ClueLetter).where(ClueLetter.inspection_id == iid).order_by(col(ClueLetter.id))))
    _sheet(wb, "线索移交函", ["移交函编号", "文号", "接收单位", "线索件数", "移交时间", "签收期限", "签收时间", "签收人"],
           [(lt.id, lt.doc_no, _receiver(lt.receiver), lt.clue_count, _time(lt.sent_at), _day(lt.ack_due_on),
             _time(lt.acknowledged_at), lt.acknowledged_by) for lt in letters])
    clues = list(session.exec(select(Clue).where(Clue.inspection_id == iid).order_by(col(Clue.id))))
    _sheet(wb, "线索台账", ["线索编号", "线索类型", "边巡边移", "接收单位", "状态", "移交时间", "办理结果", "反馈时间", "办结时间"],
           [(c.id, _enum(c.kind), "是" if c.urgent else "", _receiver(c.receiver), _enum(c.status), _time(c.transferred_at),
             _enum(c.result), _time(c.result_at), _time(c.closed_at)) for c in clues])
    petitions = list(session.exec(select(Petition).where(Petition.inspection_id == iid).order_by(col(Petition.id))))
    _sheet(wb, "信访举报", ["编号", "受理渠道", "受理时间", "匿名", "转为线索编号"],
           [(p.id, _enum(p.channel), _time(p.received_at), "是" if p.anonymous else "否", p.clue_id) for p in petitions])
    return {"clue": [c.id for c in clues], "clue_letter": [lt.id for lt in letters],
            "petition": [p.id for p in petitions]}


def _look_back_sheets(session: Session, wb: Workbook, iid: int | None) -> Ids:
    """回头看 started from this unit, with their checks and accountability."""
    look_backs = list(session.exec(select(LookBack).where(LookBack.source_inspection_id == iid)))
    lb_ids = [lb.id for lb in look_backs]
    _sheet(wb, "回头看", ["编号", "启动原因", "情况", "状态", "启动日期", "完成时间", "组成人员"],
           [(lb.id, lb.cause, lb.detail, lb.status, _day(lb.triggered_on), _time(lb.finished_at), "；".join(lb.team))
            for lb in look_backs])
    _sheet(wb, "回头看核查与问责", ["回头看编号", "类别", "事项编号/对象", "结果/方式", "说明"],
           [(c.look_back_id, "核查", c.item_id, c.result, c.note)
            for c in session.exec(select(LookBackCheck).where(col(LookBackCheck.look_back_id).in_(lb_ids)))]
           + [(a.look_back_id, "问责", a.target, a.kind, a.reason)
              for a in session.exec(select(Accountability).where(col(Accountability.look_back_id).in_(lb_ids)))])
    return {"look_back": lb_ids}


def _audit_sheet(session: Session, wb: Workbook, mine: Ids) -> None:
    """The audit events of the rows the other sheets hold."""
    events = session.exec(select(AuditEvent).where(or_(*[
        (col(AuditEvent.entity) == entity) & col(AuditEvent.entity_id).in_(ids) for entity, ids in mine.items() if ids
    ])).order_by(col(AuditEvent.id)))
    _sheet(wb, "审计事件", ["编号", "时间", "操作人", "操作", "对象", "对象编号", "详情", "哈希"],
           [(e.id, _time(e.at), e.actor, e.action, e.entity, e.entity_id, json.dumps(e.detail, ensure_ascii=False), e.hash)
            for e in events])


def _figures_workbook(summary: dict[str, Any], path: Path) -> None:
    from tasks.records.statistics import MEASURES, TEAM_LABELS, labelled

    wb = new_workbook()
    wb.remove(wb.active)
    _sheet(wb, "主要数据", ["指标", "数值"], [(name, summary[key]) for key, name in MEASURES.items()])
    teams = labelled(summary["teams"], TEAM_LABELS)
    _sheet(wb, "各巡察组", list(teams[0]) if teams else list(TEAM_LABELS.values()), [list(r.values()) for r in teams])
    units = labelled(summary["units"], MEASURES, {"name": "被巡察单位", "team": "巡察组", "stage": "阶段"})
    _sheet(wb, "各单位", list(units[0]) if units else ["被巡察单位"], [list(r.values()) for r in units])
    wb.save(str(path))


# Assembling a folder -----------------------------------------------------------------------


def _catalogue(folder: Path, entries: list[Entry]) -> None:
    header = ["序号", "文件名称", "形成日期", "大小", "文件"]
    rows = [[str(n), printable(e.title).replace("\t", " ").replace("\n", " "), _day(e.made), _size((folder / e.name).stat().st_size), e.name] for n, e in enumerate(entries, 1)]
    (folder / f"{CATALOGUE}.tsv").write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    wb = new_workbook()
    ws = wb.active
    assert ws is not None
    ws.title = CATALOGUE
    append_row(ws, header)
    for r in rows:
        append_row(ws, [int(r[0]), *r[1:]])
    for letter, width in zip("ABCDE", (6, 56, 12, 10, 48), strict=True):
        ws.column_dimensions[letter].width = width
    wb.save(str(folder / f"{CATALOGUE}.xlsx"))


def sm3_of(path: Path) -> str:
    h = file_hash(GM)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.finalize().hex()


def _manifest(folder: Path, *, sm3: bool = False) -> None:
    """manifest.sha256 of every file; with `sm3`, manifest.sm3 first (then listed in the former)."""
    if sm3:
        lines = [f"{sm3_of(p)}  {p.relative_to(folder).as_posix()}" for p in sorted(folder.rglob("*"))
                 if p.is_file() and p.name not in (MANIFEST, MANIFEST_SM3)]
        (folder / MANIFEST_SM3).write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = [f"{sha256_of(p)}  {p.relative_to(folder).as_posix()}" for p in sorted(folder.rglob("*"))
             if p.is_file() and p.name != MANIFEST]
    (folder / MANIFEST).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _zip(folder: Path) -> Path:
    target = folder.with_name(folder.name + ".zip")
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, f"{folder.name}/{p.relative_to(folder).as_posix()}")
    tmp.replace(target)
    return target


def assemble(*, base: Path, folder: Path, entries: list[Entry], write: Any = None, sm3: bool = False) -> int:
    """Build the folder afresh beside it (copies, generated files via `write(building)`,
    catalogues, manifest), then swap it in and zip it: a crash leaves the old folder or none.
    Both stay inside `base`, and only folders this product created are ever removed (models/paths.py)."""
    building = folder.with_name(folder.name + ".building")
    remove_folder(base, building)
    make_folder(base, building)
    try:
        for e in entries:
            if e.source is None:
                continue
            if not e.source.is_file():
                raise DomainError(f"归档失败：找不到文件“{e.source.name}”（{e.title}）。请重新运行生成该文件的环节后再归档")
            if e.sha256 and sha256_of(e.source) != e.sha256:
                raise DomainError(f"归档失败：文件“{e.source.name}”（{e.title}）在登记后被改动（SHA-256 不一致），请核实")
            shutil.copy2(e.source, building / e.name)
        if write is not None:
            write(building)
        _catalogue(building, entries)
        _manifest(building, sm3=sm3)
        remove_folder(base, folder)  # refuses a folder this product did not create
    except BaseException:
        remove_folder(base, building)
        raise
    move_folder(base, building, folder)
    _zip(folder)
    return len(entries)


def _doc_entries(docs: Iterable[Document], start: int = 1) -> list[Entry]:
    out = []
    for n, d in enumerate(docs, start):
        out.append(Entry(name=f"{n:02d}-{Path(d.path).name}", title=f"{d.title}（{d.kind}）", made=d.created_at,
                         source=Path(d.path), sha256=d.sha256))
    return out


def _common_task_docs(session: Session, inspection_id: int | None, round_id: int,
                      until: datetime | None = None) -> list[Document]:
    """Round-level letters 《关于落实巡察整改工作任务的函》 for common problems involving this unit (all of them without a unit);
    for an archived unit, those written by its archiving (a later version belongs to later units' dossiers)."""
    q = select(Document).where(Document.round_id == round_id, col(Document.inspection_id).is_(None),
                               col(Document.kind).startswith(COMMON_TASK_KIND))
    docs = list(session.exec(q.order_by(col(Document.id))))
    if inspection_id is None:
        return docs
    mine = {f"{COMMON_TASK_KIND}-{cp}" for cp in session.exec(select(RectificationItem.common_problem_id).where(
        RectificationItem.inspection_id == inspection_id, col(RectificationItem.common_problem_id).is_not(None)))}
    return [d for d in docs if d.kind in mine and (until is None or aware(d.created_at) <= aware(until))]


def _unit_docs(session: Session, insp: Inspection) -> list[Document]:
    """The registered documents of a unit's dossier, in catalogue order."""
    docs = list(session.exec(select(Document).where(Document.inspection_id == insp.id).order_by(col(Document.id))))
    return docs + _common_task_docs(session, insp.id, insp.round_id, until=insp.archived_at)


def _round_docs(session: Session, round_id: int) -> list[Document]:
    """The registered documents of a round's 综合卷, in catalogue order (none before its summary)."""
    report = written(session=session, round_id=round_id, inspection_id=None, kind=SUMMARY_KIND)
    return [] if report is None else [report, *_common_task_docs(session, None, round_id)]


def _register_manifest(*, session: Session, folder: Path, entity: str, entity_id: int, now: datetime) -> None:
    """The manifest's own SHA-256 on the (hash-chained) audit trail, so the files the database
    holds no hash for (records, catalogue, charts) cannot be changed together with the manifest."""
    record_event(session=session, actor="系统", action=ARCHIVED_ACTION, entity=entity, entity_id=entity_id, now=now,
                 detail={"manifest_sha256": sha256_of(folder / MANIFEST)})


def registered_hashes(*, session: Session, round_id: int, inspection_id: int | None) -> dict[str, str]:
    """{file name in the dossier: SHA-256 registered in the database} for a unit's dossier (or,
    without a unit, the round's 综合卷): each document's from the Document table, under the names
    `archive_inspection`/`archive_round` give them, and the manifest's from the archiving's audit event."""
    if inspection_id is None:
        docs = _round_docs(session, round_id)
    else:
        insp = session.get(Inspection, inspection_id)
        docs = [] if insp is None else _unit_docs(session, insp)
    out = {e.name: e.sha256 for e in _doc_entries(docs) if e.sha256}
    entity, entity_id = ("round", round_id) if inspection_id is None else ("inspection", inspection_id)
    try:
        detail = session.exec(select(AuditEvent.detail).where(
            AuditEvent.action == ARCHIVED_ACTION, AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
            .order_by(col(AuditEvent.id).desc()).limit(1)).first()
    except ValueError as exc:  # a mangled audit row: verify-audit names it
        raise DomainError("无法读取立卷归档的审计记录（审计日志可能被改动，请运行 verify-audit）") from exc
    if isinstance(detail, dict) and isinstance(detail.get("manifest_sha256"), str):
        out[MANIFEST] = detail["manifest_sha256"]
    return out


def dossier_owner(*, session: Session, settings: Settings, folder: Path) -> tuple[int, int | None] | None:
    """(round id, inspection id or None for the 综合卷) of the dossier archived at `folder`, found by
    asking where each archived unit and round goes (paths from ids); None when it is no known dossier."""
    target = Path(folder).resolve()
    rows = session.exec(select(InspectionRound.id, InspectionRound.name, Inspection.id, Unit)
                        .join(Inspection, col(Inspection.round_id) == InspectionRound.id)
                        .join(Unit, col(Unit.id) == Inspection.unit_id)
                        .where(Inspection.stage == Stage.ARCHIVED))
    for round_id, round_name, inspection_id, unit in rows:
        if round_id is None or unit.id is None:
            continue
        if dossier_path(settings, round_id, round_name, unit.id, unit.name).resolve() == target:
            return round_id, inspection_id
        if dossier_path(settings, round_id, round_name, None, "").resolve() == target:
            return round_id, None
    return None


def archive_inspection(*, session: Session, settings: Settings, inspection_id: int, folder: Path, now: datetime) -> int:
    """The unit's dossier folder; returns how many files the catalogue lists."""
    insp = get_or_raise(session, Inspection, inspection_id, "巡察任务")
    entries = _doc_entries(_unit_docs(session, insp))
    entries.append(Entry(name=RECORDS, title="巡察工作记录（问题、整改、审批、线索移交、民主测评和问卷调查、审计事件）", made=now))
    entries.append(Entry(name=CONFIDENTIAL, title="保密卷目录（谈话安排、谈话记录；内容加密存于系统数据库）", made=now))
    charts = _evaluation_chart_files(session, settings, insp)
    n = len(entries)
    entries += [Entry(name=f"{n + i:02d}-统计图-{p.stem.removeprefix(f'inspection-{inspection_id}-')}.png",
                      title=f"民主测评和问卷调查结果图（{p.stem}）", made=now, source=p) for i, p in enumerate(charts, 1)]

    def write(building: Path) -> None:
        write_records(session=session, inspection=insp, path=building / RECORDS)
        write_confidential_index(session=session, inspection=insp, path=building / CONFIDENTIAL)

    count = assemble(base=settings.archive_dir, folder=folder, entries=entries, write=write,
                     sm3=settings.crypto_profile == GM)
    _register_manifest(session=session, folder=folder, entity="inspection", entity_id=inspection_id, now=now)
    return count


def _evaluation_chart_files(session: Session, settings: Settings, insp: Inspection) -> list[Path]:
    """The unit's evaluation charts drawn afresh from the stored results (PNG)."""
    from tasks.stationing.evaluations import evaluation_charts

    assert insp.id is not None
    unit = session.get(Unit, insp.unit_id)
    return evaluation_charts(session=session, inspection_id=insp.id, label=unit.name if unit else "",
                             directory=document_dir(settings, insp.round_id, insp.id, part="charts"))


# The round ----------------------------------------------------------------------------------


def write_summary_report(*, session: Session, settings: Settings, round_id: int, now: datetime,
                         summary: dict[str, Any] | None = None) -> Document:
    """巡察工作总结报告 of a round, with its figures (`round_summary`, computed here unless given)
    and charts (written once)."""
    from tasks.records.charts import round_charts
    from tasks.records.statistics import MEASURES, round_summary

    rnd = get_round(session=session, round_id=round_id)
    done = written(session=session, round_id=round_id, inspection_id=None, kind=SUMMARY_KIND)
    if done is not None:
        return done
    summary = summary or round_summary(session=session, round_id=round_id)
    directory = document_dir(settings, round_id)
    charts = round_charts(session=session, round_id=round_id, directory=document_dir(settings, round_id, part="charts"))
    units = list(session.exec(select(Inspection.unit_id).where(Inspection.round_id == round_id)))
    counts = {k: summary[k] for k in MEASURES}
    spec = DocSpec(
        kind=SUMMARY_KIND, template=SUMMARY_KIND, title=f"关于{rnd.name}工作情况的总结报告",
        doc_no=f"巡察〔{rnd.start_date.year}〕总结{round_id}号", addressee="巡察工作领导小组", signature=OFFICE,
        context={"round_name": rnd.name, "round_kind": _enum(rnd.kind), "start": cn_date(rnd.start_date),
                 "end": cn_date(rnd.end_date), "unit_count": len(units),
                 "team_count": len({t["id"] for t in summary["teams"]}), "s": counts,
                 "figures": [{"name": name, "value": counts[key]} for key, name in MEASURES.items()],
                 "teams": summary["teams"], "units": summary["units"]},
        charts=charts,
    )
    return write_document(session=session, settings=settings, directory=directory, round_id=round_id, inspection_id=None,
                          spec=spec, now=now)


def archive_round(*, session: Session, settings: Settings, round_id: int, now: datetime) -> Path:
    """When the last unit is archived: the summary report and the round's 综合卷 (summary, the
    common-problem letters, charts and the figures workbook)."""
    from tasks.records.statistics import round_summary

    rnd = get_round(session=session, round_id=round_id)
    summary = round_summary(session=session, round_id=round_id)
    write_summary_report(session=session, settings=settings, round_id=round_id, now=now, summary=summary)
    entries = _doc_entries(_round_docs(session, round_id))
    charts = sorted(document_dir(settings, round_id, part="charts").glob(f"round-{round_id}-*.png"))
    n = len(entries)
    entries += [Entry(name=f"{n + i:02d}-统计图-{p.stem.removeprefix(f'round-{round_id}-')}.png", title=f"统计图表（{p.stem}）",
                      made=now, source=p) for i, p in enumerate(charts, 1)]
    entries.append(Entry(name="统计数据.xlsx", title="本轮巡察统计数据（主要数据、各巡察组、各单位）", made=now))
    folder = dossier_folder(settings, rnd)
    assemble(base=settings.archive_dir, folder=folder, entries=entries, write=lambda b: _figures_workbook(summary, b / "统计数据.xlsx"),
             sm3=settings.crypto_profile == GM)
    _register_manifest(session=session, folder=folder, entity="round", entity_id=round_id, now=now)
    return folder


# Verification -------------------------------------------------------------------------------


def _manifest_lines(manifest: Path) -> tuple[dict[str, str], list[str]]:
    """{name: digest} of a manifest, and a Chinese line for each line that is not `hash  name`."""
    label = manifest.name
    try:
        text = manifest.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return {}, [f"{label} 已损坏（不是 UTF-8 文本），无法按清单核验"]
    except OSError as exc:
        return {}, [f"无法读取 {label}（{exc.strerror or exc}）"]
    expected: dict[str, str] = {}
    problems: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        if (not sep or len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest) or not name
                or name.startswith("/") or ".." in Path(name).parts or any(ord(c) < 32 for c in name)
                or len(name.encode()) > 255 * 8):
            shown = "".join(c if c.isprintable() else "?" for c in line[:80])
            problems.append(f"{label} 第{n}行格式有误：{shown}")
            continue
        expected[name] = digest.lower()
    return expected, problems


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _zip_problems(folder: Path, files: dict[str, Path], *, required: bool) -> list[str]:
    """The zip beside `folder` against the folder: the same names and the same contents."""
    target = folder.with_name(folder.name + ".zip")
    if not target.is_file():
        return [f"缺少压缩包：{target.name}"] if required else []
    problems: list[str] = []
    try:
        with zipfile.ZipFile(target) as zf:
            members = {i.filename.removeprefix(f"{folder.name}/"): i for i in zf.infolist() if not i.is_dir()}
            for name in sorted(set(files) - set(members)):
                problems.append(f"压缩包{target.name}缺少文件：{name}")
            for name in sorted(set(members) - set(files)):
                problems.append(f"压缩包{target.name}多出文件：{name}")
            for name in sorted(set(files) & set(members)):
                digest = hashlib.sha256()
                with zf.open(members[name]) as fh:
                    for chunk in iter(lambda: fh.read(1 << 16), b""):  # noqa: B023 - used at once
                        digest.update(chunk)
                if digest.hexdigest() != sha256_of(files[name]):
                    problems.append(f"压缩包{target.name}中的文件与目录中的不同：{name}")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as exc:
        return [f"压缩包已损坏：{target.name}（{exc}）"]
    return problems


def verify_dossier(folder: Path, *, registered: dict[str, str] | None = None, zip_required: bool = False) -> list[str]:
    """Every file missing, changed (its SHA-256 differs from the manifest, or from `registered`, the
    hashes the database holds for the documents) or extra, by name, and every difference between
    the folder and the zip beside it (a missing zip only when `zip_required`); empty when intact."""
    folder = Path(folder)
    if not folder.is_dir():
        return [f"案卷目录不存在：{folder}"]
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return [f"缺少文件：{MANIFEST}（无法核验）"]
    expected, problems = _manifest_lines(manifest)
    missing: set[str] = set()
    for name, digest in expected.items():
        path = folder / name
        if not _is_file(path):
            problems.append(f"缺少文件：{name}")
            missing.add(name)
        elif sha256_of(path) != digest:
            problems.append(f"文件已被改动（SHA-256 不一致）：{name}")
    for name, digest in (registered or {}).items():
        path = folder / name
        if not _is_file(path):
            if name not in missing:
                problems.append(f"缺少文件：{name}（数据库登记的公文）")
        elif sha256_of(path) != digest:
            problems.append(f"{MANIFEST} 与归档时登记的 SHA-256 不一致（清单在归档后被改动）" if name == MANIFEST
                            else f"文件与数据库登记的 SHA-256 不一致：{name}")
    files = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
    for name in files:
        if name != MANIFEST and name not in expected:
            problems.append(f"多出文件：{name}")
    if MANIFEST_SM3 in expected and _is_file(folder / MANIFEST_SM3):
        problems += _sm3_problems(folder, expected, missing)
    return problems + _zip_problems(folder, files, required=zip_required)


def _sm3_problems(folder: Path, expected: dict[str, str], missing: set[str]) -> list[str]:
    """The SM3 manifest against the files: each listed file's SM3, and every file the SHA-256
    manifest lists is in it too."""
    sm3, problems = _manifest_lines(folder / MANIFEST_SM3)
    for name, digest in sm3.items():
        path = folder / name
        if not _is_file(path):
            if name not in missing:
                problems.append(f"缺少文件：{name}（{MANIFEST_SM3} 中列出）")
        elif sm3_of(path) != digest:
            problems.append(f"文件已被改动（SM3 不一致）：{name}")
    for name in sorted(set(expected) - set(sm3) - {MANIFEST_SM3}):
        problems.append(f"{MANIFEST_SM3} 中没有文件：{name}")
    return problems


def dossier_folders(settings: Settings, round_name: str, unit_name: str | None = None) -> list[Path]:
    """The folders to verify: one unit's, or every dossier of the round (its units and 综合卷).
    Found on disk by the names' display parts, so a copy of the archive verifies without the database."""
    rounds = find_named(settings.archive_dir, "round", round_name)
    if not rounds:
        raise DomainError(f"找不到轮次“{round_name}”的归档案卷（应在 {settings.archive_dir}/round-<编号>-"
                          f"{display_part(round_name)}）")
    if unit_name:
        units = [f for r in rounds for f in find_named(r, "unit", unit_name)]
        if not units:
            raise DomainError(f"找不到“{unit_name}”在轮次“{round_name}”的归档案卷")
        return units
    return sorted(p for r in rounds for p in r.iterdir() if p.is_dir() and not p.name.endswith(".building"))
