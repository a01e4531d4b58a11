"""The calendar as office data: a year's holidays and adjusted working days (调休) entered by the
office in the shape of the State Council's notice (国务院办公厅关于某年部分节假日安排的通知),
validated, audited, and the deadlines counted provisionally (暂按周末计算) across that year
recomputed in the same transaction, their reminders and escalations re-planned.

The notice, as the office types it (YAML; one festival a key, in the notice's order):

    元旦:
      放假: 2027-01-01 至 2027-01-03
    春节:
      放假: 2027-02-06 至 2027-02-13
      调休上班: 2027-02-14、2027-02-20

The year's entry replaces any earlier one whole (a corrected notice is typed again in full).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import chinese_calendar
import yaml
from sqlmodel import Session, col, select

from models.access import Action, Forbidden, require
from models.enums import AccessRole, DayCount
from models.errors import DomainError
from models.settings import Settings
from models.tables import (
    Account,
    Clue,
    ClueLetter,
    HolidayYear,
    ProvisionalDeadline,
    RectificationItem,
)
from tasks.infra.audit import record_event
from tasks.infra.workdays import PACKAGE_YEARS, REST, WORK, WorkCalendar, _Loader, work_calendar

ENTERED = "录入节假日安排"
NAME_KEYS = {REST, WORK}
RANGE = re.compile(r"\s*(?:至|~|～|—|－|到)\s*")
SEP = re.compile(r"[、,，;；]+")
WEEKDAYS = "一二三四五六日"
# The deadlines a working-day rule computes and the tables keep (entity, column) -> the model.
STORED: dict[tuple[str, str], Any] = {
    ("rectification_item", "deadline"): RectificationItem,
    ("clue_letter", "ack_due_on"): ClueLetter,
    ("clue", "result_due_on"): Clue,
}


@dataclass
class Festival:
    name: str
    line: int
    rest: list[tuple[date, date]] = field(default_factory=list)
    working: list[date] = field(default_factory=list)
    lines: dict[date, int] = field(default_factory=dict)  # the line each day was typed on

    def rest_days(self) -> set[date]:
        return {a + timedelta(days=k) for a, b in self.rest for k in range((b - a).days + 1)}

    def line_of(self, day: date) -> int:
        return self.lines.get(day, self.line)

    def stored(self) -> dict[str, Any]:
        return {"name": self.name, "rest": [[a.isoformat(), b.isoformat()] for a, b in self.rest],
                "working": [d.isoformat() for d in sorted(self.working)]}


def _weekday(d: date) -> str:
    return f"{d}（周{WEEKDAYS[d.weekday()]}）"


def _scalars(node: yaml.Node) -> list[tuple[str, int]]:
    """A value as (text, line) pieces: one per sequence item, a text split at 、 , ；."""
    if isinstance(node, yaml.SequenceNode):
        return [piece for item in node.value for piece in _scalars(item)]
    if isinstance(node, yaml.ScalarNode):
        return [(p.strip(), node.start_mark.line + 1) for p in SEP.split(str(node.value)) if p.strip()]
    raise DomainError(f"第{node.start_mark.line + 1}行：应为日期或日期范围，不能是嵌套的项")


def _day(text: str, year: int, where: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(f"{where}“{text}”不是日期（应写成 {year}-02-06 这样的年-月-日）") from None
    if day.year != year:
        raise DomainError(f"{where}{day}不在{year}年内")
    return day


def parse_notice(text: str, year: int) -> list[Festival]:
    """The office's typing of the notice, or a refusal naming the line and the festival."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第{mark.line + 1}行" if mark is not None else ""
        raise DomainError(f"节假日安排不是有效的格式{('（' + where + '）') if where else ''}：请按“节日名称: 放假: 起—止 / 调休上班: 日期”逐行填写") from None
    if root is None:
        raise DomainError(f"节假日安排是空的：请按国务院办公厅通知逐个节日填写{year}年的放假和调休上班日期")
    if (isinstance(root, yaml.MappingNode) and len(root.value) == 1 and isinstance(root.value[0][0], yaml.ScalarNode)
            and str(root.value[0][0].value).strip().isdigit()):
        key, inner = root.value[0]  # the file may name its year, as the older holidays.yaml did
        if int(key.value) != year:
            raise DomainError(f"第{key.start_mark.line + 1}行：文件写的是{key.value}年，录入的是{year}年")
        root = inner
    if not isinstance(root, yaml.MappingNode):
        raise DomainError(f"第{root.start_mark.line + 1}行：应逐个节日填写，如“春节:”下一行写“  放假: {year}-02-06 至 {year}-02-13”")
    festivals: list[Festival] = []
    for key, value in root.value:
        line, name = key.start_mark.line + 1, str(key.value).strip()
        if not isinstance(key, yaml.ScalarNode) or not name:
            raise DomainError(f"第{line}行：缺少节日名称")
        if any(f.name == name for f in festivals):
            raise DomainError(f"第{line}行（{name}）：节日“{name}”写了两次")
        if not isinstance(value, yaml.MappingNode):
            raise DomainError(f"第{line}行（{name}）：节日下应写“{REST}”和（如有）“{WORK}”")
        fest = Festival(name=name, line=line)
        for k, v in value.value:
            item, at = str(k.value).strip(), k.start_mark.line + 1
            if item not in NAME_KEYS:
                raise DomainError(f"第{at}行（{name}）：无法识别“{item}”，只能写“{REST}”或“{WORK}”")
            for piece, piece_line in _scalars(v):
                where = f"第{piece_line}行（{name}）“{item}”中"
                if item == REST:
                    ends = RANGE.split(piece)
                    if len(ends) > 2:
                        raise DomainError(f"{where}“{piece}”应写成“起 至 止”，如 {year}-02-06 至 {year}-02-13")
                    a, b = _day(ends[0], year, where), _day(ends[-1], year, where)
                    if a > b:
                        raise DomainError(f"{where}起止颠倒：{a}晚于{b}")
                    fest.rest.append((a, b))
                    fest.lines |= {a + timedelta(days=k): piece_line for k in range((b - a).days + 1)}
                else:
                    days = [_day(p, year, where) for p in piece.split() if p]
                    fest.working += days
                    fest.lines |= dict.fromkeys(days, piece_line)
        if not fest.rest:
            raise DomainError(f"第{line}行（{name}）：没有写放假日期")
        festivals.append(fest)
    _check(festivals, year)
    return festivals


def _check(festivals: list[Festival], year: int) -> None:
    """No day off twice, adjusted working days on weekends only, never a day off."""
    owner: dict[date, Festival] = {}
    for f in festivals:
        for day in sorted(f.rest_days()):
            if day in owner:
                other = owner[day]
                what = "重复写了" if other is f else f"与第{other.line_of(day)}行（{other.name}）重叠："
                raise DomainError(f"第{f.line_of(day)}行（{f.name}）放假日期{what}{day}")
            owner[day] = f
    working: dict[date, Festival] = {}
    for f in festivals:
        for day in f.working:
            at = f"第{f.line_of(day)}行（{f.name}）"
            if day.weekday() < 5:
                raise DomainError(f"{at}：调休上班日{_weekday(day)}不是周六或周日，调休上班只会安排在周末，请核对通知")
            if day in owner:
                raise DomainError(f"{at}：{day}既是放假日（{owner[day].name}）又是调休上班日")
            if day in working:
                raise DomainError(f"{at}：调休上班日{day}重复（另见{working[day].name}）")
            working[day] = f


# Entering a year ------------------------------------------------------------------------------


@dataclass
class Entered:
    year: int
    festivals: int
    rest_days: int
    working_days: int
    moved: int  # stored deadlines that now fall on another day
    replaced: bool


def _office_account(session: Session, by: str) -> Account:
    acc = session.exec(select(Account).where(Account.name == by.strip())).first()
    if acc is None or not acc.active:
        raise Forbidden(f"“{by}”不是本系统的在册用户，不能办理此事项")
    require(AccessRole(acc.role), Action.MANAGE_HOLIDAYS)
    return acc


def enter_year(*, session: Session, settings: Settings, by: str, year: int, text: str, now: datetime) -> Entered:
    """Enter (or replace) `year` from the notice as typed; the provisional deadlines it settles are
    recomputed and their ladders re-planned here, and all is one audit event, in one transaction
    (the caller commits). A bad entry writes nothing."""
    _office_account(session, by)
    if not 2000 <= year <= 2100:
        raise DomainError(f"年份“{year}”不对，应为如 2027 这样的四位年份")
    festivals = parse_notice(text, year)
    row = session.get(HolidayYear, year)
    replaced = row is not None
    if row is None:
        row = HolidayYear(year=year, entered_by=by, entered_at=now)
    row.festivals, row.entered_by, row.entered_at = [f.stored() for f in festivals], by, now
    session.add(row)
    session.flush()
    moved = recompute(session=session, settings=settings)
    rest = {d for f in festivals for d in f.rest_days()}
    working = {d for f in festivals for d in f.working}
    record_event(session=session, actor=by, action=ENTERED, entity="holiday_year", entity_id=year, now=now,
                 detail={"year": year, "festivals": [f.name for f in festivals], "rest_days": len(rest),
                         "working_days": len(working), "replaced": replaced, "deadlines_moved": moved})
    session.flush()
    return Entered(year=year, festivals=len(festivals), rest_days=len(rest), working_days=len(working), moved=moved,
                   replaced=replaced)


def recompute(*, session: Session, settings: Settings) -> int:
    """Count every provisional deadline again with the calendar as it now is: a deadline that moves
    takes its reminder and escalation ladder along (the rung it is on keeps its place relative to
    the deadline, so nothing already sent is sent again); one no longer provisional loses its
    mark. A deadline someone changed since (a unit's plan, a look-back) is left as it is. Returns
    how many deadlines moved."""
    cal = work_calendar(settings, session)
    moved = 0
    for mark in session.exec(select(ProvisionalDeadline).order_by(col(ProvisionalDeadline.id))).all():
        model = STORED.get((mark.entity, mark.column))
        row = session.get(model, mark.entity_id) if model is not None else None
        if row is None or getattr(row, mark.column) != mark.due:
            session.delete(mark)
            continue
        due = cal.add(mark.start, mark.days, DayCount.WORKING)
        if due != mark.due:
            setattr(row, mark.column, due)
            if isinstance(row, RectificationItem):
                replan_ladder(row, settings)
            session.add(row)
            moved += 1
        if cal.provisional(mark.start, due, DayCount.WORKING):
            mark.due = due
            session.add(mark)
        else:
            session.delete(mark)
    session.flush()
    return moved


def replan_ladder(item: RectificationItem, settings: Settings) -> None:
    """The day the item's next rung falls due, for its deadline as it now is: the reminder
    (rung 0) `reminder_days_before` ahead, rung k ≥ 1 at the (k-1)th escalation offset, as the
    daily sweep plans them (tasks/supervision/rectification.py first_action_on, sweep_notices)."""
    if item.next_action_on is None:
        return  # closed, or past the last rung
    offsets, k = settings.escalation_offsets_days, item.next_rung
    if k == 0:
        item.next_action_on = item.deadline - timedelta(days=settings.reminder_days_before)
    elif k - 1 < len(offsets):
        item.next_action_on = item.deadline + timedelta(days=offsets[k - 1])


# Marking and showing provisional deadlines ------------------------------------------------------


def note_deadline(*, session: Session, cal: WorkCalendar, entity: Any, column: str, start: date, days: int,
                  count: DayCount, due: date, now: datetime) -> None:
    """After a deadline was written to `entity.column`: keep it as provisional when counted in
    working days across a year the calendar does not know, else drop an older mark."""
    name = entity.__tablename__
    assert (name, column) in STORED and entity.id is not None
    mark = session.exec(select(ProvisionalDeadline).where(
        ProvisionalDeadline.entity == name, ProvisionalDeadline.entity_id == entity.id,
        ProvisionalDeadline.column == column)).first()
    if not cal.provisional(start, due, count):
        if mark is not None:
            session.delete(mark)
        return
    if mark is None:
        mark = ProvisionalDeadline(entity=name, entity_id=entity.id, column=column, start=start, days=days, due=due,
                                   created_at=now)
    mark.start, mark.days, mark.due = start, days, due
    session.add(mark)


def provisional_ids(*, session: Session, model: Any, column: str, ids: list[int] | None = None) -> set[int]:
    """The rows of `model` whose `column` holds a deadline still counted provisionally."""
    q = (select(ProvisionalDeadline.entity_id).join(model, col(model.id) == ProvisionalDeadline.entity_id)
         .where(ProvisionalDeadline.entity == model.__tablename__, ProvisionalDeadline.column == column,
                getattr(model, column) == ProvisionalDeadline.due))
    if ids is not None:
        q = q.where(col(ProvisionalDeadline.entity_id).in_(ids))
    return set(session.exec(q).all())


def moved_text(moved: int) -> str:
    """What entering a year did to the deadlines counted before it was known."""
    if moved == 0:
        return "没有需要改动的期限"
    return f"暂按周末计算的期限已重算，{moved}个期限日期有变化，提醒和督办随之调整"


# What the office is told ---------------------------------------------------------------------


def missing_years(*, session: Session, settings: Settings, today: date,
                  cal: WorkCalendar | None = None) -> list[str]:
    """One line per year the office should enter now: this year if unknown, and from 1 November
    the next one (the State Council publishes its notice in November or December)."""
    cal = cal or work_calendar(settings, session)
    years = [today.year] + ([today.year + 1] if today.month >= 11 else [])
    return [f"{y}年的法定节假日和调休安排尚未录入：国务院办公厅公布{y}年节假日安排的通知后，请巡察办在“节假日安排”页面"
            f"或用命令 set-holidays {y} 文件.yaml 按通知逐个节日录入放假和调休上班日期；录入前落在{y}年的工作日期限"
            f"暂按周末计算，录入后自动重算。" for y in years if not cal.knows(y)]


@dataclass
class YearLine:
    year: str
    source: str
    festivals: str = ""
    rest_days: int | None = None
    working_days: int | None = None
    entered: str = ""
    detail: list[dict[str, Any]] = field(default_factory=list)


def known_years(*, session: Session, settings: Settings, by: str, today: date) -> list[YearLine]:
    """The years the calendar knows and where each comes from; office only."""
    _office_account(session, by)
    cal = work_calendar(settings, session)
    rows = {y.year: y for y in session.exec(select(HolidayYear))}
    lines = [YearLine(year=f"{PACKAGE_YEARS[0]}—{PACKAGE_YEARS[1]}",
                      source=f"chinese-calendar 软件包（{getattr(chinese_calendar, '__version__', '')}）".replace("（）", ""))]
    for year in sorted(set(cal.office) | {today.year, today.year + 1}):
        if year in rows:
            r = rows[year]
            rest = {d for f in _festivals(r.festivals) for d in f.rest_days()}
            lines.append(YearLine(year=str(year), source="巡察办录入", festivals="、".join(f["name"] for f in r.festivals),
                                  rest_days=len(rest), working_days=sum(len(f["working"]) for f in r.festivals),
                                  entered=f"{r.entered_by}，{r.entered_at:%Y-%m-%d %H:%M}", detail=r.festivals))
        elif year in cal.office:
            lines.append(YearLine(year=str(year), source=f"文件 {cal.source}"))
        elif not cal.knows(year):
            lines.append(YearLine(year=str(year), source="尚未录入（暂按周末计算）"))
    return lines


def _festivals(stored: list[dict[str, Any]]) -> list[Festival]:
    return [Festival(name=f["name"], line=0, rest=[(date.fromisoformat(a), date.fromisoformat(b)) for a, b in f["rest"]],
                     working=[date.fromisoformat(d) for d in f["working"]]) for f in stored]


def notice_text(stored: list[dict[str, Any]]) -> str:
    """A stored year typed back in the notice's shape (to correct it on the page)."""
    out = []
    for f in _festivals(stored):
        out.append(f"{f.name}:")
        out.append(f"  {REST}: " + "、".join(f"{a} 至 {b}" if a != b else str(a) for a, b in f.rest))
        if f.working:
            out.append(f"  {WORK}: " + "、".join(str(d) for d in f.working))
    return "\n".join(out) + ("\n" if out else "")
