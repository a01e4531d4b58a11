"""Rectification supervision (督促整改): progress reports, the daily sweep with its reminder and
escalation ladder, and the triggers that start a look-back (回头看).

The sweep is set-based: each item carries the next rung of its ladder and the day that rung
falls due (`next_action_on`, indexed), so a day's work is one INSERT … SELECT and one UPDATE
over the items that need action, not a pass over every item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, insert, literal, update
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from models.clock import CHINA, aware
from models.db import rows_changed, table_of
from models.enums import ApprovalStatus, Gate, ItemStatus, LookBackCause, Role, Stage
from models.errors import DomainError
from models.forms import PlanItemIn, ProgressIn
from models.handoffs import PlanStep, PlanStepItem
from models.settings import DeadlineRule, Settings
from models.tables import (
    Approval,
    Inspection,
    InspectionNotice,
    InspectionRound,
    LookBack,
    ProgressReport,
    RectificationItem,
    SupervisionNotice,
    Unit,
)
from models.transitions import ITEMS
from tasks.infra.alerts import enqueue_alert
from tasks.infra.audit import record_event
from tasks.infra.holidays import missing_years
from tasks.infra.undelivered import summary as undelivered_summary
from tasks.infra.workdays import WorkCalendar, span_text, work_calendar
from tasks.lifecycle.archived import ensure_not_archived
from tasks.records.rates import rate_text
from tasks.supervision.forecast import DONE_STATUSES, Forecast, PaceKind, done_counts, forecast
from tasks.supervision.items import (
    ItemChoice,
    list_line,
    one_line,
    resolve_item,
    resolve_items,
    unit_items,
)

# Who hears of each rung: 0 is the reminder before the deadline, 1.. the escalation ladder.
LADDER: list[tuple[Role, str]] = [
    (Role.UNIT_SECRETARY, "整改到期提醒"),
    (Role.UNIT_SECRETARY, "整改任务今日到期"),
    (Role.LIAISON_LEADER, "整改逾期督办"),
    (Role.OFFICE, "整改逾期（巡察办）"),
    (Role.LEADING_GROUP, "整改严重逾期（领导小组）"),
]
MISSING_REPORT = "未报送整改报告"


def first_action_on(deadline: date, settings: Settings) -> date:
    return deadline - timedelta(days=settings.reminder_days_before)


def restart_ladder(item: RectificationItem, deadline: date, settings: Settings) -> None:
    """A new deadline: the reminder and escalation ladder starts again, as a new cycle."""
    if item.next_rung == 0 and item.deadline == deadline and item.next_action_on is not None:
        return
    item.deadline = deadline
    item.ladder_cycle += 1
    item.next_rung, item.next_action_on = 0, first_action_on(deadline, settings)


def _plus_days(column: Any, days: int, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return func.date(column, f"{days:+d} days")
    shifted: ColumnElement[Any] = column + days  # PostgreSQL: date + integer is a date
    return shifted


# Progress reports ------------------------------------------------------------------------


def _items_of(session: Session, inspection: Inspection) -> dict[int, RectificationItem]:
    return {i.id: i for i in session.exec(select(RectificationItem).where(RectificationItem.inspection_id == inspection.id))
            if i.id is not None}


def _unknown_or_closed(items: dict[int, RectificationItem], ids: list[int], closed_suffix: str) -> list[str]:
    problems = []
    for item_id in ids:
        item = items.get(item_id)
        if item is None:
            problems.append(f"整改事项{item_id}不存在或不属于该单位")
        elif item.status == ItemStatus.CLOSED:
            problems.append(f"整改事项{item_id}已销号{closed_suffix}")
    return problems


def _progress_lines(session: Session, inspection: Inspection, reports: list[ProgressIn]
                    ) -> tuple[dict[int, RectificationItem], list[int], list[str]]:
    """The unit's items, the items the report names, and every problem with it (raises when the
    unit cannot report at all)."""
    ensure_not_archived(session=session, inspection=inspection, action="报送整改进展")
    if not reports:
        raise DomainError("整改进展为空")
    items = _items_of(session, inspection)
    assert inspection.id is not None
    ids, problems = resolve_items([r.item for r in reports], unit_items(session=session, inspection_id=inspection.id))
    problems += _unknown_or_closed(items, ids, "，不能再报送进展")
    if len(set(ids)) != len(ids):
        problems.append("同一整改事项在本次报送中出现多次")
    return items, ids, problems


def progress_problems(*, session: Session, inspection: Inspection, reports: list[ProgressIn]) -> list[str]:
    """Why `report_progress` would refuse this report, in Chinese; empty when it would save it. Writes nothing."""
    try:
        return _progress_lines(session, inspection, reports)[2]
    except DomainError as exc:
        return exc.problems


def report_progress(
    *, session: Session, settings: Settings, inspection: Inspection, reports: list[ProgressIn], formal: bool,
    by: str, now: datetime,
) -> list[ProgressReport]:
    """Record a progress report; any bad line refuses the whole report."""
    items, ids, problems = _progress_lines(session, inspection, reports)
    if problems:
        raise DomainError("整改进展未保存", problems)
    rows = []
    for r, item_id in zip(reports, ids, strict=True):
        item = items[item_id]
        ITEMS.move(item, ItemStatus(r.status))
        item.measure = r.measure_taken or item.measure
        item.evidence = r.evidence or item.evidence
        item.rules_made += r.rules_made
        item.last_report_at = now
        session.add(item)
        rows.append(ProgressReport(item_id=item_id, reported_at=now, status=ItemStatus(r.status),
                                   measure_taken=r.measure_taken, evidence=r.evidence, rules_made=r.rules_made))
    if formal:
        inspection.formal_report_at = now
        session.add(inspection)
    session.add_all(rows)
    record_event(session=session, actor=by, action="报送整改进展", entity="inspection", entity_id=inspection.id,
                 now=now, detail={"items": len(rows), "formal": formal})
    session.flush()
    return rows


# The sweep ---------------------------------------------------------------------------------


@dataclass
class SweepResult:
    notices: int = 0
    by_rung: dict[int, int] = field(default_factory=dict)
    missing_reports: int = 0
    missing_plans: int = 0
    plan_notices: dict[int, int] = field(default_factory=dict)  # rung of the plan's ladder -> units
    alerts: int = 0
    pace_warnings: int = 0  # units newly warned that their pace will miss a deadline
    look_backs: list[int] = field(default_factory=list)
    clue_reminders: int = 0
    results_reminders: int = 0  # results letters (巡察成果运用) not signed for or not reported in time
    common_reminders: int = 0  # to leaders in charge of common problems still supervised (督办中)
    held_until: date | None = None  # a rest day: the day's reminders go out on this working day
    calendar_warnings: list[str] = field(default_factory=list)
    undelivered: str = ""  # alerts that did not arrive, for the office (tasks/infra/undelivered.py)


def last_notice_id(session: Session) -> int:
    return int(session.execute(select(func.max(SupervisionNotice.id))).scalar() or 0)


def sweep_notices(*, session: Session, settings: Settings, as_of: date) -> dict[int, int]:
    """Write one notice per item and rung that falls due on or before `as_of`; each rung once."""
    dialect = session.get_bind().dialect.name
    item = table_of(RectificationItem)
    offsets = settings.escalation_offsets_days
    due = and_(item.c.next_action_on.is_not(None), item.c.next_action_on <= as_of)
    next_date = case(
        *[(item.c.next_rung == k, _plus_days(item.c.deadline, offsets[k], dialect)) for k in range(len(offsets))],
        else_=None,
    )
    counts: dict[int, int] = {}
    # Only this call's notices are reported: a repeated sweep of the same day writes none.
    before = last_notice_id(session)
    # A sweep that missed days catches up one rung per pass; a daily sweep needs one pass.
    for _ in range(len(LADDER)):
        inserted = rows_changed(session.execute(
            insert(table_of(SupervisionNotice)).from_select(
                ["item_id", "inspection_id", "ladder_cycle", "rung", "due_on", "as_of"],
                # `id + 0` keeps the index on next_action_on for the filter while feeding the
                # notice index in item order (measured: about 40% less work on SQLite).
                sa_select(item.c.id, item.c.inspection_id, item.c.ladder_cycle, item.c.next_rung, item.c.next_action_on,
                          literal(as_of)).where(due).order_by(item.c.id + 0),
            ).execution_options(preserve_rowcount=True)  # psycopg reports -1 otherwise
        ))
        if not inserted:
            break
        # Advance only items that got this rung's notice: an item made due by a transaction that
        # committed between the two statements waits for the next pass instead of skipping a rung.
        notice = table_of(SupervisionNotice)
        noticed = sa_select(literal(1)).where(
            notice.c.item_id == item.c.id, notice.c.ladder_cycle == item.c.ladder_cycle, notice.c.rung == item.c.next_rung,
        ).exists()
        session.execute(update(item).where(due, noticed).values(next_rung=item.c.next_rung + 1, next_action_on=next_date))
    # The set-based UPDATE bypassed the ORM: loaded items must not keep their old rung.
    session.expire_all()
    for rung, n in session.execute(
        select(SupervisionNotice.rung, func.count()).where(col(SupervisionNotice.id) > before)
        .group_by(col(SupervisionNotice.rung))
    ).all():
        counts[int(rung)] = int(n)
    return counts


def _label(session: Session, inspection_id: int) -> tuple[Inspection, str]:
    insp = session.get(Inspection, inspection_id)
    assert insp is not None
    unit, rnd = session.get(Unit, insp.unit_id), session.get(InspectionRound, insp.round_id)
    assert unit and rnd
    return insp, f"{rnd.name}·{unit.name}"


def _notice_text(label: str, rung: int, n: int, due_on: date, as_of: date, held: bool) -> tuple[str, str]:
    """Title and body of one unit's alert for one rung; title and body always say the same thing."""
    role_title = LADDER[min(rung, len(LADDER) - 1)][1]
    if rung == 0:
        return role_title, f"{label}：{n}项整改任务将于{due_on}到期，请抓紧整改并报送进展。"
    if rung == 1 and due_on >= as_of and not held:  # the due-day rung, sent on the day itself
        return role_title, f"{label}：{n}项整改任务今日到期（到期日{due_on}），请督促按期完成。"
    if rung == 1:  # the due-day rung caught up later (a missed sweep, a holiday): already overdue
        return "整改任务已逾期", f"{label}：{n}项整改任务已逾期（最早到期日{due_on}），请督促整改。"
    return role_title, f"{label}：{n}项整改任务已逾期（最早到期日{due_on}），请督促整改。"


def notify_notices(*, session: Session, settings: Settings, as_of: date, now: datetime, link: str,
                   after_id: int = 0, calendar: WorkCalendar | None = None) -> int:
    """One alert per unit and rung for the day's new notices (not one per item: no spamming);
    returns how many alerts were newly queued, so a repeated sweep reports none. On a rest day
    they are held to the next working day unless the rectification rule says otherwise."""
    hold = (calendar or work_calendar(settings, session)).hold_until(as_of, settings.rule("rectification"))
    groups = session.execute(
        select(SupervisionNotice.inspection_id, SupervisionNotice.rung, func.count(), func.min(RectificationItem.deadline))
        .join(RectificationItem, col(RectificationItem.id) == SupervisionNotice.item_id)
        .where(SupervisionNotice.as_of == as_of, col(SupervisionNotice.id) > after_id)
        .group_by(col(SupervisionNotice.inspection_id), col(SupervisionNotice.rung))
    ).all()
    sent = 0
    for inspection_id, rung, n, due_on in groups:  # due_on: the earliest deadline among them
        insp, label = _label(session, inspection_id)
        role = LADDER[min(int(rung), len(LADDER) - 1)][0]
        title, text = _notice_text(label, int(rung), int(n), due_on, as_of, held=hold is not None)
        rows = enqueue_alert(session=session, settings=settings, key=f"sweep:{inspection_id}:{rung}:{as_of}", role=role,
                             title=f"【{title}】", body=text, link=link, now=now, inspection=insp, not_before=hold)
        sent += int(any(r.created_at == now for r in rows))
    return sent


def _fed_back_by(as_of: date, days: int) -> ColumnElement[bool]:
    """A cheap SQL pre-filter: a period of `days` working days is never shorter than `days` calendar days."""
    return and_(col(Inspection.feedback_date).is_not(None), col(Inspection.feedback_date) <= as_of - timedelta(days=days))


def mark_missing_reports(*, session: Session, settings: Settings, as_of: date, now: datetime, link: str,
                         calendar: WorkCalendar | None = None) -> int:
    """The formal rectification report is due by the report rule (`rectification_days`) after feedback."""
    cal, rule = calendar or work_calendar(settings, session), settings.rule("report")
    late = [i for i in session.exec(select(Inspection).where(
        _fed_back_by(as_of, rule.days), col(Inspection.formal_report_at).is_(None),
        col(Inspection.stage).in_([Stage.RECTIFICATION, Stage.ARCHIVING, Stage.ARCHIVED]),
    )).all() if i.feedback_date is not None and cal.deadline(i.feedback_date, rule) <= as_of]
    hold = cal.hold_until(as_of, rule)
    marked = 0
    for insp in late:
        exists = session.exec(select(InspectionNotice).where(
            InspectionNotice.inspection_id == insp.id, InspectionNotice.kind == MISSING_REPORT)).first()
        if exists:
            continue
        assert insp.id is not None
        session.add(InspectionNotice(inspection_id=insp.id, kind=MISSING_REPORT, as_of=as_of))
        _, label = _label(session, insp.id)
        enqueue_alert(session=session, settings=settings, key=f"missing-report:{insp.id}", role=Role.OFFICE,
                      title="【未按期报送整改报告】", body=f"{label}：整改报告已到期未报送。", link=link, now=now, inspection=insp,
                      not_before=hold)
        marked += 1
    session.flush()
    return marked


def unit_rates(*, session: Session, inspection_ids: list[int] | None = None) -> dict[int, tuple[int, int]]:
    """inspection id → (closed items, all items)."""
    q = select(RectificationItem.inspection_id, func.count(),
               func.sum(case((col(RectificationItem.status) == ItemStatus.CLOSED, 1), else_=0))).group_by(
        col(RectificationItem.inspection_id))
    if inspection_ids is not None:
        q = q.where(col(RectificationItem.inspection_id).in_(inspection_ids))
    return {int(i): (int(done or 0), int(total)) for i, total, done in session.execute(q).all()}


def detect_look_backs(*, session: Session, settings: Settings, as_of: date, now: datetime,
                      calendar: WorkCalendar | None = None) -> list[int]:
    """Create a look-back for every unit whose trigger holds and that has none yet."""
    cal, rule = calendar or work_calendar(settings, session), settings.rule("report")
    causes: dict[int, list[str]] = {}
    overdue_before = as_of - timedelta(days=settings.lookback_overdue_days)
    for (iid,) in session.execute(select(RectificationItem.inspection_id).where(
            col(RectificationItem.status) != ItemStatus.CLOSED, col(RectificationItem.deadline) < overdue_before).distinct()):
        causes.setdefault(int(iid), []).append(LookBackCause.OVERDUE.value)
    due = [i for i, fed_back in session.execute(select(col(Inspection.id), col(Inspection.feedback_date)).where(_fed_back_by(as_of, rule.days)))
           if cal.deadline(fed_back, rule) <= as_of]
    for iid, (done, total) in unit_rates(session=session, inspection_ids=due).items():
        if total and Decimal(done) * 100 / Decimal(total) < Decimal(str(settings.lookback_rate_below)):
            causes.setdefault(iid, []).append(LookBackCause.LOW_RATE.value)
    for (iid,) in session.execute(select(InspectionNotice.inspection_id).where(InspectionNotice.kind == MISSING_REPORT)):
        causes.setdefault(int(iid), []).append(LookBackCause.NO_REPORT.value)
    if not causes:
        return []
    have = set(session.exec(select(LookBack.source_inspection_id).where(
        col(LookBack.source_inspection_id).in_(list(causes)))).all())
    # An archived unit closed every item and its records are read-only (tasks/lifecycle/archived.py): a
    # look-back there could not record its results, so none is started.
    have |= {i for i in session.exec(select(Inspection.id).where(
        col(Inspection.id).in_(list(causes)), Inspection.stage == Stage.ARCHIVED)) if i is not None}
    created = []
    for iid, why in sorted(causes.items()):
        if iid in have:
            continue
        insp = session.get(Inspection, iid)
        assert insp is not None
        lb = LookBack(source_inspection_id=iid, unit_id=insp.unit_id, cause=why[0], detail="、".join(why), triggered_on=as_of)
        session.add(lb)
        session.flush()
        assert lb.id is not None
        record_event(session=session, actor="系统", action="触发回头看", entity="look_back", entity_id=lb.id, now=now,
                     detail={"inspection": iid, "causes": why})
        created.append(lb.id)
    return created


def sweep(*, session: Session, settings: Settings, as_of: date, now: datetime, link: str) -> SweepResult:
    """The daily supervision sweep: ladder notices, their alerts, missing reports, look-back triggers,
    clue deadlines, and common problems still under supervision."""
    result = SweepResult()
    cal = work_calendar(settings, session)
    kw: dict[str, Any] = {"session": session, "settings": settings, "as_of": as_of, "now": now, "calendar": cal}
    before = last_notice_id(session)
    result.by_rung = sweep_notices(session=session, settings=settings, as_of=as_of)
    result.notices = sum(result.by_rung.values())
    result.alerts = notify_notices(link=link, after_id=before, **kw)
    result.pace_warnings = warn_slow_pace(link=link, **kw)
    result.missing_reports = mark_missing_reports(link=link, **kw)
    result.plan_notices = sweep_plans(link=link, **kw)
    result.missing_plans = result.plan_notices.get(1, 0)
    result.look_backs = detect_look_backs(**kw)
    from tasks.clues.ledger import (
        sweep_clue_deadlines,  # clues imports documents; keep this module light
    )

    result.clue_reminders = sweep_clue_deadlines(link=link, **kw)
    from tasks.results.use import sweep_results  # writes letters too (documents), as clues does

    result.results_reminders = sweep_results(**kw)
    # It writes letters (documents): kept out of this module's imports, as clues is.
    from tasks.supervision.common_problems import supervise_open

    result.common_reminders = supervise_open(session=session, settings=settings, as_of=as_of, now=now, link=link,
                                             hold=cal.hold_until(as_of, settings.rule("rectification")))
    if not cal.is_working_day(as_of):
        result.held_until = cal.next_working_day(as_of)
    # One line per year the office should enter (this year if unknown, from 1 November the next),
    # plus any other unknown year a deadline fell in: each year said once.
    missing = missing_years(session=session, settings=settings, today=as_of, cal=cal)
    said = {y for y in (as_of.year, as_of.year + 1) if any(line.startswith(f"{y}年") for line in missing)}
    result.calendar_warnings = missing + [w for y, w in zip(cal.unknown_years, cal.warnings, strict=True) if y not in said]
    result.undelivered = undelivered_summary(session=session).line()
    session.flush()
    return result


def unit_progress(*, session: Session, settings: Settings, as_of: date,
                  calendar: WorkCalendar | None = None) -> list[dict[str, Any]]:
    """Per unit and round: items, closed, overdue, the rectification rate and the estimated finish
    (预计完成, tasks/supervision/forecast.py), for the daily progress artifact."""
    rows = session.execute(
        sa_select(col(Inspection.id), col(InspectionRound.name), col(Unit.name), func.count(col(RectificationItem.id)),
               func.sum(case((col(RectificationItem.status) == ItemStatus.CLOSED, 1), else_=0)),
               func.sum(case((and_(col(RectificationItem.status) != ItemStatus.CLOSED,
                                   col(RectificationItem.deadline) < as_of), 1), else_=0)))
        .join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
        .join(Unit, col(Unit.id) == Inspection.unit_id)
        .join(RectificationItem, col(RectificationItem.inspection_id) == Inspection.id)
        .group_by(col(Inspection.id), col(InspectionRound.name), col(Unit.name))
        .order_by(col(InspectionRound.name), col(Unit.name))
    ).all()
    estimates = inspection_forecasts(session=session, settings=settings, as_of=as_of,
                                     inspection_ids=[int(r[0]) for r in rows], calendar=calendar)
    return [{"轮次": rn, "单位": un, "整改事项": int(t), "已销号": int(d or 0), "已逾期": int(o or 0),
             "整改到位率": rate_text(int(d or 0), int(t)), "预计完成": estimates[int(iid)].text}
            for iid, rn, un, t, d, o in rows]


# Early warning from velocity (整改进度预警) -----------------------------------------------

PACE_WARNING = "整改进度预警"  # the InspectionNotice kind, followed by the deadline version


def inspection_forecasts(*, session: Session, settings: Settings, as_of: date, inspection_ids: list[int],
                         calendar: WorkCalendar | None = None) -> dict[int, Forecast]:
    """inspection id → its forecast from its items and progress reports, for those that have items."""
    if not inspection_ids:
        return {}
    # A projection may run into a year the holiday schedule does not know yet: that is the
    # estimate's business, not a warning for the sweep's artifact.
    base = calendar or work_calendar(settings, session)
    quiet = WorkCalendar(office=base.office, source=base.source)
    rule = settings.rule("rectification")
    deadlines: dict[int, list[date]] = {}
    for iid, status, deadline in session.execute(
            sa_select(col(RectificationItem.inspection_id), col(RectificationItem.status), col(RectificationItem.deadline))
            .where(col(RectificationItem.inspection_id).in_(inspection_ids))):
        open_ = deadlines.setdefault(int(iid), [])
        if ItemStatus(status) not in DONE_STATUSES:
            open_.append(deadline)
    reports: dict[int, list[tuple[int, date, str]]] = {}
    unfinished = [i for i, open_ in deadlines.items() if open_]  # a finished unit's history is not needed
    for iid, item_id, at, status in session.execute(
            select(RectificationItem.inspection_id, ProgressReport.item_id, ProgressReport.reported_at, ProgressReport.status)
            .join(RectificationItem, col(RectificationItem.id) == ProgressReport.item_id)
            .where(col(RectificationItem.inspection_id).in_(unfinished))
            .order_by(col(ProgressReport.reported_at), col(ProgressReport.id))):
        reports.setdefault(int(iid), []).append((int(item_id), aware(at).astimezone(CHINA).date(), status))
    starts: dict[int, date | None] = {int(i): d for i, d in session.execute(
        sa_select(col(Inspection.id), col(Inspection.feedback_date)).where(col(Inspection.id).in_(list(deadlines))))}
    return {iid: forecast(deadlines=open_, history=done_counts(reports=reports.get(iid, [])), start=starts.get(iid),
                          as_of=as_of, calendar=quiet, count=rule.count, reports=settings.pace_reports,
                          min_days=settings.pace_min_days)
            for iid, open_ in deadlines.items()}


def _pace_text(label: str, f: Forecast) -> str:
    first = f.late[0]
    if f.kind is PaceKind.STALLED:
        pace = f"自{f.since}以来没有新完成的整改任务，按此进度尚余{f.open_items}项无法完成"
    else:
        pace = f"自{f.since}以来每周约完成{f.per_week_text}项整改任务，按此进度尚余{f.open_items}项预计{f.finish}才能全部完成"
    return f"{label}：{pace}，其中{len(f.late)}项将晚于完成时限（最早{first}到期）。请加快整改进度，并按时报送整改进展。"


def warn_slow_pace(*, session: Session, settings: Settings, as_of: date, now: datetime, link: str,
                   calendar: WorkCalendar | None = None) -> int:
    """Warn the unit's secretary and liaison leader when its pace will miss a deadline not yet due:
    one alert each per unit, once until the situation changes — the unit is back on pace (the mark
    is lifted, a later slip warns again) or a deadline of its items changes (a new ladder cycle).
    Held over rest days like the ladder's reminders. Returns how many units were newly warned."""
    cal = calendar or work_calendar(settings, session)
    live = col(Inspection.stage) != Stage.ARCHIVED
    versions = {int(i): int(v) for i, v in session.execute(
        select(RectificationItem.inspection_id, func.sum(col(RectificationItem.ladder_cycle)))
        .join(Inspection, col(Inspection.id) == RectificationItem.inspection_id)
        .where(live, col(RectificationItem.inspection_id).in_(
            select(RectificationItem.inspection_id).where(col(RectificationItem.status).not_in(list(DONE_STATUSES)))))
        .group_by(col(RectificationItem.inspection_id)))}
    marks = {m.inspection_id: m for m in session.exec(
        select(InspectionNotice).join(Inspection, col(Inspection.id) == InspectionNotice.inspection_id)
        .where(live, col(InspectionNotice.kind).startswith(PACE_WARNING)))}
    estimates = inspection_forecasts(session=session, settings=settings, as_of=as_of, inspection_ids=sorted(versions),
                                     calendar=cal)
    hold = cal.hold_until(as_of, settings.rule("rectification"))
    warned = 0
    for iid in sorted(set(versions) | set(marks)):
        f, mark = estimates.get(iid), marks.get(iid)
        kind = f"{PACE_WARNING}:{versions.get(iid, 0)}"
        if mark is not None and (f is None or not f.late or mark.kind != kind):
            session.delete(mark)  # back on pace, done, or a deadline changed: the old warning is lifted
            session.flush()
            mark = None
        if f is None or not f.late or mark is not None:
            continue
        session.add(InspectionNotice(inspection_id=iid, kind=kind, as_of=as_of))
        insp, label = _label(session, iid)
        for role in (Role.UNIT_SECRETARY, Role.LIAISON_LEADER):
            enqueue_alert(session=session, settings=settings, key=f"pace:{iid}:{versions[iid]}:{as_of}:{role.value}",
                          role=role, title=f"【{PACE_WARNING}】", body=_pace_text(label, f), link=link, now=now,
                          inspection=insp, not_before=hold)
        warned += 1
    session.flush()
    return warned


# The rectification plan (整改方案) ----------------------------------------------------------

MISSING_PLAN = "未按期报送整改方案"


def _plan_lines(session: Session, inspection: Inspection, items: list[PlanItemIn], now: datetime
                ) -> tuple[dict[int, RectificationItem], list[int], list[str]]:
    """The unit's items, the items the plan names, and every problem with the plan (raises when
    the unit cannot submit a plan at all)."""
    ensure_not_archived(session=session, inspection=inspection, action="报送整改方案")
    if inspection.stage != Stage.RECTIFICATION:
        raise DomainError(f"当前阶段为“{Stage(inspection.stage).value}”，只有督促整改阶段可以报送整改方案")
    if inspection.plan_approved_at is not None:
        raise DomainError("整改方案已审核通过，不能再修改")
    rows = _items_of(session, inspection)
    assert inspection.id is not None
    choices = unit_items(session=session, inspection_id=inspection.id)
    named = [(p, resolve_item(p.item, choices)) for p in items]
    problems = [why for _, (item_id, why) in named if item_id is None]
    ids = [item_id for _, (item_id, _) in named if item_id is not None]
    problems += _unknown_or_closed(rows, ids, "")
    if len(set(ids)) != len(ids):
        problems.append("同一整改事项在整改方案中出现多次")
    for p, (item_id, _) in named:
        if item_id is not None and p.deadline < now.date():
            problems.append(f"整改事项{item_id}的完成时限{p.deadline}早于今天")
    missing = sorted(set(rows) - set(ids) - {i for i, r in rows.items() if r.status == ItemStatus.CLOSED})
    if missing:
        problems.append("整改方案未覆盖的整改事项：" + "、".join(map(str, missing)))
    return rows, ids, problems


def plan_problems(*, session: Session, inspection: Inspection, items: list[PlanItemIn], now: datetime) -> list[str]:
    """Why `submit_plan` would refuse this plan, in Chinese; empty when it would save it. Writes nothing."""
    try:
        return _plan_lines(session, inspection, items, now)[2]
    except DomainError as exc:
        return exc.problems


def submit_plan(
    *, session: Session, settings: Settings, inspection: Inspection, items: list[PlanItemIn], by: str, now: datetime,
    link: str,
) -> int:
    """The unit's plan: measure, owner and deadline per item. Any bad line refuses the whole plan."""
    rows, ids, problems = _plan_lines(session, inspection, items, now)
    if problems:
        raise DomainError("整改方案未保存", problems)
    for p, item_id in zip(items, ids, strict=True):
        row = rows[item_id]
        row.measure, row.owner, row.supervise_every_days = p.measure.strip(), p.owner.strip(), p.supervise_every_days
        if row.deadline != p.deadline:
            restart_ladder(row, p.deadline, settings)
        session.add(row)
    inspection.plan_submitted_at = now
    session.add(inspection)
    assert inspection.id is not None
    _, label = _label(session, inspection.id)
    record_event(session=session, actor=by, action="报送整改方案", entity="inspection", entity_id=inspection.id, now=now,
                 detail={"items": len(items)})
    enqueue_alert(session=session, settings=settings, key=f"plan:{inspection.id}:{now.isoformat()}", role=Role.OFFICE,
                  title="【整改方案待审核】", body=f"{label}：已报送整改方案（{len(items)}项任务），请审核。",
                  link=link, now=now, inspection=inspection)
    session.flush()
    return len(items)


def review_plan(*, session: Session, settings: Settings, inspection_id: int, approved: bool, attempt: int, comment: str,
                now: datetime, link: str) -> bool:
    """The office approves the plan, or sends it back so the unit submits it again."""
    insp, label = _label(session, inspection_id)
    if insp.plan_approved_at is not None:
        return True
    ensure_not_archived(session=session, inspection=insp, action="审核整改方案")
    if approved and insp.plan_submitted_at is None:
        enqueue_alert(session=session, settings=settings, key=f"plan-not-submitted:{inspection_id}:{attempt}",
                      role=Role.OFFICE, title="【整改方案尚未报送】", link=link, now=now, inspection=insp,
                      body=f"{label}：单位尚未报送整改方案，审核“通过”未生效，请待报送后再审核。")
        return False
    if approved:
        insp.plan_approved_at = now
    else:
        asked = session.exec(select(Approval).where(Approval.inspection_id == inspection_id,
                                                    Approval.gate == Gate.RECT_PLAN, Approval.attempt == attempt)).first()
        decided = asked.decided_at if asked is not None else None
        if insp.plan_submitted_at is None or (decided is not None and aware(insp.plan_submitted_at) > aware(decided)):
            # A replay (the unit run started again from the top): this return was applied, and
            # the plan since re-submitted waits for the next review; it must not be cleared.
            return False
        insp.plan_submitted_at = None
        enqueue_alert(session=session, settings=settings, key=f"plan-returned:{inspection_id}:{attempt}",
                      role=Role.UNIT_SECRETARY, title="【整改方案退回】", link=link, now=now, inspection=insp,
                      body=f"{label}：整改方案被退回，请修改后重新报送。意见：{comment}")
    session.add(insp)
    record_event(session=session, actor="巡察办", action="审核整改方案", entity="inspection", entity_id=inspection_id,
                 now=now, detail={"approved": approved})
    session.flush()
    return approved


def plan_due(*, settings: Settings, inspection: Inspection, calendar: WorkCalendar | None = None,
             session: Session | None = None) -> date | None:
    """The day the plan is due: the plan rule (`plan_due_days`, 工作日 or 自然日) after feedback,
    by the calendar the office entered (read through `session`) unless one is given. It is counted
    afresh each time, so it is exact as soon as the year is entered."""
    if inspection.feedback_date is None:
        return None
    return (calendar or work_calendar(settings, session)).deadline(inspection.feedback_date, settings.rule("plan"))


def plan_due_provisional(*, settings: Settings, inspection: Inspection, session: Session) -> bool:
    """Whether the plan's deadline is counted over a year the calendar does not know (暂按周末计算)."""
    due = plan_due(settings=settings, inspection=inspection, session=session)
    return due is not None and inspection.feedback_date is not None and work_calendar(settings, session).provisional(
        inspection.feedback_date, due, settings.rule("plan").count)


def listed_items(items: list[ItemChoice], budget: int = 3000) -> str:
    """The unit's items as lines "编号 描述", as long as they fit in `budget` characters (an alert
    body holds 4,000); the rest are counted and left to the 整改通知书."""
    lines: list[str] = []
    for n, item in enumerate(items):
        line = list_line(item)
        if sum(len(x) + 1 for x in lines) + len(line) > budget:
            lines.append(f"……另有{len(items) - n}项，见整改通知书")
            break
        lines.append(line)
    return "\n".join(lines)


def plan_notice(*, session: Session, settings: Settings, inspection: Inspection) -> str:
    """What the unit's secretary is told when rectification starts: submit the plan, by when, for
    which items (numbers and problem descriptions; never clue or petition text)."""
    assert inspection.id is not None
    _, label = _label(session, inspection.id)
    rule, due = settings.rule("plan"), plan_due(settings=settings, inspection=inspection, session=session)
    items = unit_items(session=session, inspection_id=inspection.id, open_only=True)
    when = f"{due:%Y年%m月%d日}前（反馈后{span_text(rule)}内）" if due else f"反馈后{span_text(rule)}内"
    return (f"{label}：请于{when}报送整改方案：在本单位的“整改事项”页面（见下方链接）或部署“报送整改方案”的表单中逐项填写整改措施、责任人和完成时限，"
            f"报巡察办审核；审核通过后按方案整改并报送整改进展。整改事项共{len(items)}项"
            f"（表单中填写编号或问题描述均可）：\n" + listed_items(items))


# The plan's ladder: one plan per unit, so one notice per unit and rung, each rung once: a reminder
# before the deadline, then the deadline (the mark 未按期报送整改方案, as before) and the escalation
# offsets after it, to the same people as the items' ladder.
PLAN_REMINDER = "整改方案报送提醒"
PLAN_LADDER: list[tuple[str, tuple[Role, ...], str]] = [
    (PLAN_REMINDER, (Role.UNIT_SECRETARY,), "【整改方案报送提醒】"),
    (MISSING_PLAN, (Role.UNIT_SECRETARY, Role.OFFICE), "【未按期报送整改方案】"),
    ("整改方案逾期督办", (Role.LIAISON_LEADER,), "【整改方案逾期督办】"),
    ("整改方案逾期（巡察办）", (Role.OFFICE,), "【整改方案逾期（巡察办）】"),
    ("整改方案严重逾期（领导小组）", (Role.LEADING_GROUP,), "【整改方案严重逾期（领导小组）】"),
]


def _plan_rung_days(due: date, settings: Settings) -> list[date]:
    """The day each rung of the plan's ladder falls due (rung 0 the reminder, 1.. the offsets)."""
    return [due - timedelta(days=settings.reminder_days_before)] + [due + timedelta(days=d) for d in settings.escalation_offsets_days]


def _plan_rung_text(label: str, rung: int, due: date, as_of: date, n: int, rule: DeadlineRule) -> str:
    if rung == 0:
        return (f"{label}：整改方案应于{due:%Y年%m月%d日}前报送，尚未报送。请在部署“报送整改方案”的表单中逐项填写"
                f"整改措施、责任人和完成时限（整改事项{n}项）。")
    if rung == 1:
        return f"{label}：反馈后{span_text(rule)}内应报送整改方案，至今未报送。"
    return f"{label}：整改方案逾期{(as_of - due).days}天未报送（应于{due:%Y年%m月%d日}前报送），请督促单位报送。"


def sweep_plans(*, session: Session, settings: Settings, as_of: date, now: datetime, link: str,
                calendar: WorkCalendar | None = None) -> dict[int, int]:
    """The plan's reminders and escalations for units in rectification that have not submitted a
    plan (or whose plan was sent back): every rung due by `as_of` not yet noticed, once per unit
    and rung; a reminder whose deadline has come is dropped (the deadline's rung says it). Held
    on a rest day like the items' ladder. Returns rung -> units newly noticed."""
    cal, rule = calendar or work_calendar(settings, session), settings.rule("plan")
    has_open = sa_select(literal(1)).where(col(RectificationItem.inspection_id) == col(Inspection.id),
                                           col(RectificationItem.status) != ItemStatus.CLOSED).exists()
    waiting = session.exec(select(Inspection).where(
        _fed_back_by(as_of, max(rule.days - settings.reminder_days_before, 0)),
        col(Inspection.plan_submitted_at).is_(None), col(Inspection.plan_approved_at).is_(None),
        Inspection.stage == Stage.RECTIFICATION, has_open).order_by(col(Inspection.id))).all()
    hold = cal.hold_until(as_of, rule)
    counts: dict[int, int] = {}
    for insp in waiting:
        assert insp.id is not None
        due = plan_due(settings=settings, inspection=insp, calendar=cal)
        assert due is not None
        days = _plan_rung_days(due, settings)
        noticed = set(session.exec(select(InspectionNotice.kind).where(InspectionNotice.inspection_id == insp.id)).all())
        _, label = _label(session, insp.id)
        n = len(unit_items(session=session, inspection_id=insp.id, open_only=True))
        for rung, day in enumerate(days):
            kind, roles, title = PLAN_LADDER[min(rung, len(PLAN_LADDER) - 1)]
            if rung >= len(PLAN_LADDER):
                kind = f"{kind}（第{rung}级）"
            if day > as_of or kind in noticed or (rung == 0 and as_of >= due):
                continue
            session.add(InspectionNotice(inspection_id=insp.id, kind=kind, as_of=as_of))
            body = _plan_rung_text(label, rung, due, as_of, n, rule)
            for role in roles:
                key = f"missing-plan:{insp.id}:{role.value}" if rung == 1 else f"plan-ladder:{insp.id}:{rung}:{role.value}"
                enqueue_alert(session=session, settings=settings, key=key, role=role, title=title, body=body, link=link,
                              now=now, inspection=insp, not_before=hold)
            counts[rung] = counts.get(rung, 0) + 1
    session.flush()
    return counts


def plans_to_review(*, session: Session) -> list[tuple[int, str]]:
    """(inspection, its unit run) for each unit whose plan is in but whose 整改方案审核 is not open:
    its run may still be waiting for the plan (a wake-up lost, e.g. the plan was submitted while
    the run was on its way to wait). The relay wakes those (deployments/ops/relay.py)."""
    open_review = select(Approval.inspection_id).where(Approval.gate == Gate.RECT_PLAN,
                                                       Approval.status == ApprovalStatus.PENDING)
    rows = session.execute(select(Inspection.id, Inspection.flow_run_id).where(
        Inspection.stage == Stage.RECTIFICATION, col(Inspection.plan_submitted_at).is_not(None),
        col(Inspection.plan_approved_at).is_(None), col(Inspection.flow_run_id).is_not(None),
        col(Inspection.id).not_in(open_review)).order_by(col(Inspection.id))).all()
    return [(int(i), str(r)) for i, r in rows]


def plan_step(*, session: Session, settings: Settings, inspection_id: int) -> PlanStep:
    insp, label = _label(session, inspection_id)
    due = plan_due(settings=settings, inspection=insp, session=session)
    rows = _items_of(session, insp)
    items = tuple(PlanStepItem(no=str(c.id), problem=one_line(c.description), measure=one_line(rows[c.id].measure, 60) or "—",
                               owner=one_line(rows[c.id].owner) or "—", deadline=str(rows[c.id].deadline))
                  for c in unit_items(session=session, inspection_id=inspection_id, open_only=True))
    last = session.exec(select(Approval).where(
        Approval.inspection_id == inspection_id, Approval.gate == Gate.RECT_PLAN, Approval.status == ApprovalStatus.DECIDED)
        .order_by(col(Approval.attempt).desc())).first()
    returned = (last.comment or "（未写意见）") if last is not None and last.decision == "退回修改" else ""
    return PlanStep(label=label, due=f"{due:%Y年%m月%d日}" if due else "", items=items, returned=returned)
