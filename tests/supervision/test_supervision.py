"""Rectification supervision on the domain level: a 90-day simulation with `as_of` stepping day
by day over a round of four units, the exact ladder of reminders and escalations, look-back
triggers, progress reports and statistics."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from models.clock import CHINA
from models.enums import ItemStatus, Stage
from models.errors import DomainError
from models.forms import FindingIn, ProgressIn, SweepParams
from models.settings import Settings
from models.tables import (
    Alert,
    Inspection,
    InspectionNotice,
    LookBack,
    ProgressReport,
    RectificationItem,
    SupervisionNotice,
)
from tasks.lifecycle import stages
from tasks.records.rates import rate_text
from tasks.supervision.rectification import report_progress, sweep
from tests.support.advance import advance
from tests.support.factories import make_round, round_params, team_data

# PostgreSQL as well (`both_databases`) only where behaviour differs by database, marked per test
# with the reason. Refused input writes nothing on either database (one transaction, rolled back)
# and is checked in Python: SQLite only. The ladder (dates computed in SQL), the rates (SQL
# aggregates) and the once-only sweeps also run on PostgreSQL.

LINK = "http://127.0.0.1:4200/runs/flow-run/sweep"
FEEDBACK = date(2027, 1, 10)
UNITS = ["城东街道", "区教育局", "区交通投资集团", "马岙村"]


def at(day: date) -> datetime:
    return datetime.combine(day, time(8, 0), tzinfo=CHINA)


def to_rectification(s: Session, settings: Settings, n_findings: dict[str, int]) -> dict[str, int]:
    """A round of four units, each with its findings, fed back on FEEDBACK and in rectification."""
    params = round_params(teams=[team_data(units=UNITS, members=("刘洋",))])
    _, inspections = make_round(s, params)
    ids = {}
    for unit, insp in zip(UNITS, inspections, strict=True):
        assert insp.id is not None
        advance(s, settings, insp.id, Stage.RECTIFICATION, now=at(FEEDBACK), link=LINK, findings=[
            FindingIn(category="党的建设", description=f"{unit}问题{k}") for k in range(n_findings[unit])])
        ids[unit] = insp.id
    s.commit()
    return ids


def items_of(s: Session, iid: int) -> list[RectificationItem]:
    return list(s.exec(select(RectificationItem).where(RectificationItem.inspection_id == iid).order_by(RectificationItem.id)))  # type: ignore[arg-type]


def report(s: Session, settings: Settings, iid: int, item_ids: list[int], status: str, day: date, formal: bool) -> None:
    insp = s.get(Inspection, iid)
    assert insp is not None
    report_progress(session=s, settings=settings, inspection=insp, formal=formal, by="单位书记", now=at(day),
                    reports=[ProgressIn(item_id=i, status=status, measure_taken="措施") for i in item_ids])  # type: ignore[arg-type]


def close(s: Session, settings: Settings, iid: int, day: date, attempt: int) -> None:
    stages.close_out(session=s, settings=settings, inspection_id=iid, approved=True, attempt=attempt, comment="",
                     now=at(day), link=LINK)


@pytest.mark.both_databases  # the reminder ladder's due dates are computed in SQL (tasks/supervision/rectification.py _plus_days, per dialect)
def test_ninety_days_of_sweeps(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 3, "区教育局": 2, "区交通投资集团": 10, "马岙村": 2})
    deadline = FEEDBACK + timedelta(days=60)
    a, b, c, d = (ids[u] for u in UNITS)
    notices_by_day: dict[int, list[tuple[int, int]]] = defaultdict(list)  # item -> [(day, rung)]
    look_backs: dict[int, int] = {}
    for day_no in range(91):
        day = FEEDBACK + timedelta(days=day_no)
        # The units' own actions, on the days they happen.
        if day_no == 20:   # 城东街道: everything done and reported formally; office closes on day 25
            report(s, settings, a, [i.id for i in items_of(s, a)], "已完成待核", day, formal=True)  # type: ignore[misc]
        if day_no == 25:
            close(s, settings, a, day, 1)
        if day_no == 50:   # 区教育局: formal report, but nothing is finished
            report(s, settings, b, [i.id for i in items_of(s, b)], "整改中", day, formal=True)  # type: ignore[misc]
        if day_no == 45:   # 区交通投资集团: 9 of 10 done and closed before the deadline, one lags
            report(s, settings, c, [i.id for i in items_of(s, c)][:9], "已完成待核", day, formal=True)  # type: ignore[misc]
            close(s, settings, c, day, 1)
        # 马岙村 never reports.
        result = sweep(session=s, settings=settings, as_of=day, now=at(day), link=LINK)
        s.commit()
        again = sweep(session=s, settings=settings, as_of=day, now=at(day), link=LINK)  # same day twice: nothing new
        s.commit()
        assert again.notices == 0 or again.notices == result.notices  # counts are per day, rows are not re-written
        for lb_id in result.look_backs:
            look_backs[lb_id] = day_no
        assert again.look_backs == []
    for n in s.exec(select(SupervisionNotice).order_by(SupervisionNotice.id)):  # type: ignore[arg-type]
        notices_by_day[n.item_id].append(((n.as_of - FEEDBACK).days, n.rung))

    ladder = [(53, 0), (60, 1), (67, 2), (74, 3), (90, 4)]
    assert deadline == FEEDBACK + timedelta(days=60)
    for i in items_of(s, a):
        assert notices_by_day[i.id] == [], "closed before its reminder: no notice"  # type: ignore[index]
    for unit_id in (b, d):
        for i in items_of(s, unit_id):
            assert notices_by_day[i.id] == ladder  # type: ignore[index]
    c_items = items_of(s, c)
    assert [notices_by_day[i.id] for i in c_items[:9]] == [[]] * 9  # type: ignore[index]
    assert notices_by_day[c_items[9].id] == ladder  # type: ignore[index]

    # Alerts: one per unit and rung (not one per item), each once.
    sweep_alerts = [x for x in s.exec(select(Alert)) if x.dedupe_key.startswith("sweep:")]
    per_unit = defaultdict(list)
    for x in sweep_alerts:
        _, iid, rung, _day = x.dedupe_key.split(":", 3)
        per_unit[int(iid)].append(int(rung))
    assert {k: sorted(v) for k, v in per_unit.items()} == {b: [0, 1, 2, 3, 4], c: [0, 1, 2, 3, 4], d: [0, 1, 2, 3, 4]}
    assert len({(x.dedupe_key, x.recipient) for x in sweep_alerts}) == len(sweep_alerts)
    # The texts name the items' deadline, not the day of the rung.
    reminder = next(x for x in sweep_alerts if x.dedupe_key.startswith(f"sweep:{b}:0:"))
    assert f"将于{deadline}到期" in reminder.body
    overdue = next(x for x in sweep_alerts if x.dedupe_key.startswith(f"sweep:{b}:2:"))
    assert f"最早到期日{deadline}" in overdue.body
    # Missing formal report marked for 马岙村 only, on the report deadline.
    marks = s.exec(select(InspectionNotice).where(InspectionNotice.kind == "未报送整改报告")).all()
    assert [(m.inspection_id, m.as_of) for m in marks] == [(d, deadline)]
    # No unit submitted a plan within 15 days of feedback: each is marked once, on day 15.
    plan_marks = s.exec(select(InspectionNotice).where(InspectionNotice.kind == "未按期报送整改方案")).all()
    assert sorted((m.inspection_id, (m.as_of - FEEDBACK).days) for m in plan_marks) == sorted((i, 15) for i in ids.values())
    # Look-backs: 区教育局 (rate 0% at the deadline) and 马岙村 (no report, rate 0%), once each, on day 60.
    fired = {s.get(LookBack, lb).source_inspection_id: day for lb, day in look_backs.items()}  # type: ignore[union-attr]
    assert fired == {b: 60, d: 60}
    causes = {lb.source_inspection_id: lb.detail for lb in s.exec(select(LookBack))}
    assert causes == {b: "整改率偏低", d: "整改率偏低、未报送整改报告"}
    assert s.get(Inspection, a).stage == Stage.ARCHIVING  # type: ignore[union-attr]


@pytest.mark.both_databases  # overdue days and rates computed over stored dates
def test_overdue_trigger_and_threshold(demo_org: Session, settings: Settings) -> None:
    """Items overdue by more than D days start a look-back even when the rate is fine."""
    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 10, "区教育局": 1, "区交通投资集团": 1, "马岙村": 1})
    a = ids["城东街道"]
    items = items_of(s, a)
    report(s, settings, a, [i.id for i in items[:9]], "已完成待核", FEEDBACK, formal=True)  # type: ignore[misc]
    close(s, settings, a, FEEDBACK, 1)
    s.commit()
    strict = settings.model_copy(update={"lookback_rate_below": 0.0, "lookback_overdue_days": 5})
    day = FEEDBACK + timedelta(days=65)  # deadline + 5: not yet "more than 5 days"

    def sources(result: Any) -> dict[int, str]:
        return {s.get(LookBack, i).source_inspection_id: s.get(LookBack, i).cause for i in result.look_backs}  # type: ignore[union-attr]

    first = sources(sweep(session=s, settings=strict, as_of=day, now=at(day), link=LINK))
    assert a not in first  # the other units never reported: they fire for that, not for lateness
    assert set(first.values()) == {"未报送整改报告"}
    day += timedelta(days=1)
    assert sources(sweep(session=s, settings=strict, as_of=day, now=at(day), link=LINK)) == {a: "逾期未整改"}


def test_rate_is_exact() -> None:
    assert rate_text(590, 1172) == "50.34%"
    assert rate_text(1, 3) == "33.33%"
    assert rate_text(2, 3) == "66.67%"
    assert rate_text(0, 0) == "—"


@pytest.mark.parametrize("case", ["unknown item", "closed item", "other unit's item", "duplicate"])
def test_bad_progress_report_writes_nothing(demo_org: Session, settings: Settings, case: str) -> None:
    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 2, "区教育局": 1, "区交通投资集团": 1, "马岙村": 1})
    a, b = ids["城东街道"], ids["区教育局"]
    first, second = items_of(s, a)
    if case == "closed item":
        report(s, settings, a, [first.id], "已完成待核", FEEDBACK, formal=False)  # type: ignore[list-item]
        close(s, settings, a, FEEDBACK, 1)
        s.commit()
    before = (len(s.exec(select(ProgressReport)).all()), s.get(RectificationItem, second.id).status)  # type: ignore[union-attr]
    item_ids = {"unknown item": [999999], "closed item": [first.id], "other unit's item": [items_of(s, b)[0].id],
                "duplicate": [second.id, second.id]}[case]
    with pytest.raises(DomainError) as err:
        report(s, settings, a, item_ids, "整改中", FEEDBACK, formal=True)  # type: ignore[arg-type]
    s.rollback()
    assert "整改进展未保存" in str(err.value)
    expected = {"unknown item": "不存在", "closed item": "已销号", "other unit's item": "不属于", "duplicate": "多次"}[case]
    assert expected in str(err.value)
    assert (len(s.exec(select(ProgressReport)).all()), s.get(RectificationItem, second.id).status) == before  # type: ignore[union-attr]
    assert s.get(Inspection, a).formal_report_at is None  # type: ignore[union-attr]


@pytest.mark.parametrize(("field", "value", "phrase"), [
    ("rate_below", 120, "整改率阈值应在0到100之间"),
    ("rate_below", -1, "整改率阈值应在0到100之间"),
    ("overdue_days", -3, "逾期天数不能为负数"),
])
def test_bad_sweep_parameters(field: str, value: Any, phrase: str) -> None:
    with pytest.raises(ValidationError) as err:
        SweepParams.model_validate({field: value})
    assert phrase in str(err.value)


def test_settings_refuse_rate_outside_range() -> None:
    with pytest.raises(ValidationError):
        Settings(lookback_rate_below=101)


def test_item_status_after_report(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 1, "区教育局": 1, "区交通投资集团": 1, "马岙村": 1})
    (item,) = items_of(s, ids["城东街道"])
    report(s, settings, ids["城东街道"], [item.id], "整改中", FEEDBACK, formal=False)  # type: ignore[list-item]
    assert s.get(RectificationItem, item.id).status == ItemStatus.IN_PROGRESS  # type: ignore[union-attr]


@pytest.mark.both_databases  # the rates are SQL aggregates by year (per dialect)
def test_rates_by_unit_round_team_and_year(demo_org: Session, settings: Settings) -> None:
    """Counts computed independently with plain SQL match the statistics."""
    from sqlalchemy import text

    from tasks.records.statistics import statistics

    def rectification_rates(*, session: Session, by: str) -> list[tuple[str, int, int, str]]:
        return [(r["name"], r["rectified"], r["items"], r["rate"]) for r in statistics(session=session, by=by) if r["items"]]

    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 4, "区教育局": 3, "区交通投资集团": 2, "马岙村": 1})
    a = ids["城东街道"]
    report(s, settings, a, [i.id for i in items_of(s, a)][:3], "已完成待核", FEEDBACK, formal=True)  # type: ignore[misc]
    close(s, settings, a, FEEDBACK, 1)
    s.commit()
    by_unit = {n: (d, t, r) for n, d, t, r in rectification_rates(session=s, by="单位")}
    sql = dict(s.execute(text(
        "SELECT u.name, SUM(CASE WHEN r.status = '已销号' THEN 1 ELSE 0 END) || '/' || COUNT(*) FROM rectification_item r "
        "JOIN inspection i ON i.id = r.inspection_id JOIN unit u ON u.id = i.unit_id GROUP BY u.name")).all())
    assert {n: f"{d}/{t}" for n, (d, t, _) in by_unit.items()} == sql
    assert by_unit["城东街道"] == (3, 4, "75.00%")
    assert rectification_rates(session=s, by="轮次") == [("2026年第一轮巡察", 3, 10, "30.00%")]
    assert rectification_rates(session=s, by="巡察组") == [("2026年第一轮巡察·第一巡察组", 3, 10, "30.00%")]
    assert rectification_rates(session=s, by="年度") == [("2026", 3, 10, "30.00%")]
    with pytest.raises(DomainError, match="统计口径"):
        rectification_rates(session=s, by="月份")


@pytest.mark.parametrize("case", ["past deadline", "unknown item", "missing item", "after approval"])
def test_bad_rectification_plan_writes_nothing(demo_org: Session, settings: Settings, case: str) -> None:
    from models.forms import PlanItemIn
    from tasks.supervision.rectification import review_plan, submit_plan

    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 2, "区教育局": 1, "区交通投资集团": 1, "马岙村": 1})
    a = ids["城东街道"]
    insp = s.get(Inspection, a)
    assert insp is not None
    first, second = items_of(s, a)
    today_ = FEEDBACK + timedelta(days=3)

    def plan(deadline: date = FEEDBACK + timedelta(days=40), extra: int | None = None) -> list[PlanItemIn]:
        ids_ = [first.id, second.id] + ([extra] if extra else [])
        return [PlanItemIn(item_id=i, measure="建立制度", owner="钱正平", deadline=deadline) for i in ids_]  # type: ignore[arg-type]

    if case == "after approval":
        submit_plan(session=s, settings=settings, inspection=insp, items=plan(), by="书记", now=at(today_), link=LINK)
        assert review_plan(session=s, settings=settings, inspection_id=a, approved=True, attempt=1, comment="",
                           now=at(today_), link=LINK)
        s.commit()
    items = {"past deadline": plan(deadline=today_ - timedelta(days=1)), "unknown item": plan(extra=999999),
             "missing item": plan()[:1], "after approval": plan()}[case]
    before = [(i.measure, i.deadline) for i in items_of(s, a)], insp.plan_submitted_at
    with pytest.raises(DomainError) as err:
        submit_plan(session=s, settings=settings, inspection=insp, items=items, by="书记", now=at(today_), link=LINK)
    s.rollback()
    phrase = {"past deadline": "早于今天", "unknown item": "不存在", "missing item": "未覆盖", "after approval": "已审核通过"}[case]
    assert phrase in str(err.value)
    s.refresh(insp)
    assert ([(i.measure, i.deadline) for i in items_of(s, a)], insp.plan_submitted_at) == before


def test_plan_review_and_missing_plan_mark(demo_org: Session, settings: Settings) -> None:
    from models.forms import PlanItemIn
    from tasks.supervision.rectification import review_plan, submit_plan

    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 1, "区教育局": 1, "区交通投资集团": 1, "马岙村": 1})
    a = ids["城东街道"]
    insp = s.get(Inspection, a)
    assert insp is not None
    # Approving before the plan exists does not take.
    assert not review_plan(session=s, settings=settings, inspection_id=a, approved=True, attempt=1, comment="", now=at(FEEDBACK), link=LINK)
    (item,) = items_of(s, a)
    new_deadline = FEEDBACK + timedelta(days=30)
    submit_plan(session=s, settings=settings, inspection=insp, by="书记", now=at(FEEDBACK), link=LINK,
                items=[PlanItemIn(item_id=item.id, measure="完善会议记录制度", owner="钱正平", deadline=new_deadline)])  # type: ignore[arg-type]
    assert s.get(RectificationItem, item.id).next_action_on == new_deadline - timedelta(days=7)  # type: ignore[union-attr]
    assert not review_plan(session=s, settings=settings, inspection_id=a, approved=False, attempt=2, comment="措施不具体",
                           now=at(FEEDBACK), link=LINK)
    assert s.get(Inspection, a).plan_submitted_at is None  # type: ignore[union-attr]
    s.commit()
    day = FEEDBACK + timedelta(days=15)
    sweep(session=s, settings=settings, as_of=day, now=at(day), link=LINK)
    marks = {(m.inspection_id, m.kind) for m in s.exec(select(InspectionNotice))}
    assert marks == {(i, "未按期报送整改方案") for i in ids.values()}


@pytest.mark.both_databases  # the ladder's rung dates in SQL (_plus_days, per dialect)
def test_new_deadline_starts_a_new_ladder_cycle(demo_org: Session, settings: Settings) -> None:
    """A reopened item (look-back) or a new deadline (plan) is reminded again, each rung once per cycle."""
    from tasks.supervision.rectification import restart_ladder

    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 1, "区教育局": 1, "区交通投资集团": 1, "马岙村": 1})
    (item,) = items_of(s, ids["城东街道"])
    day = FEEDBACK + timedelta(days=60)
    sweep(session=s, settings=settings, as_of=day, now=at(day), link=LINK)
    assert sorted((n.ladder_cycle, n.rung) for n in s.exec(select(SupervisionNotice).where(SupervisionNotice.item_id == item.id))) == [(0, 0), (0, 1)]
    restart_ladder(item, day + timedelta(days=30), settings)
    s.add(item)
    s.commit()
    later = day + timedelta(days=23)
    sweep(session=s, settings=settings, as_of=later, now=at(later), link=LINK)
    sweep(session=s, settings=settings, as_of=later, now=at(later), link=LINK)
    assert sorted((n.ladder_cycle, n.rung) for n in s.exec(select(SupervisionNotice).where(SupervisionNotice.item_id == item.id))) == [(0, 0), (0, 1), (1, 0)]


@pytest.mark.both_databases  # once-only reminders rest on the outbox's insert-or-ignore (per dialect)
def test_repeated_sweep_reports_only_what_is_new(demo_org: Session, settings: Settings) -> None:
    """A second sweep of the same day sends nothing, and says so: no notices, no alerts."""
    s = demo_org
    to_rectification(s, settings, {"城东街道": 2, "区教育局": 1, "区交通投资集团": 1, "马岙村": 1})
    day = FEEDBACK + timedelta(days=60)
    first = sweep(session=s, settings=settings, as_of=day, now=at(day), link=LINK)
    s.commit()
    assert (first.notices, first.by_rung, first.alerts) == (10, {0: 5, 1: 5}, 8)  # 4 units × 2 rungs
    again = sweep(session=s, settings=settings, as_of=day, now=at(day), link=LINK)
    s.commit()
    assert (again.notices, again.by_rung, again.alerts, again.missing_reports) == (0, {}, 0, 0)


def test_due_day_alert_title_and_body_agree(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 1, "区教育局": 1, "区交通投资集团": 1, "马岙村": 1})
    deadline = FEEDBACK + timedelta(days=60)
    sweep(session=s, settings=settings, as_of=deadline, now=at(deadline), link=LINK)
    due = [a for a in s.exec(select(Alert)) if a.dedupe_key == f"sweep:{ids['城东街道']}:1:{deadline}"]
    assert due and {a.title for a in due} == {"【整改任务今日到期】"}
    assert all(f"今日到期（到期日{deadline}）" in a.body and "逾期" not in a.body for a in due)
    later = deadline + timedelta(days=7)  # the next rung is overdue, and says so in both places
    sweep(session=s, settings=settings, as_of=later, now=at(later), link=LINK)
    overdue = [a for a in s.exec(select(Alert)) if a.dedupe_key == f"sweep:{ids['城东街道']}:2:{later}"]
    assert overdue and all("逾期" in a.title and "已逾期" in a.body for a in overdue)
