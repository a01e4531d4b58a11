"""整改进度预警 in the daily sweep: a unit whose pace will miss its deadline is warned once, before
the deadline, its secretary and liaison leader one merged alert each; again only when the situation
changes; held over rest days; never for items already overdue. The progress artifact and `stats`
show the estimate (预计完成)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlmodel import Session, col, select

from models.clock import CHINA, aware
from models.settings import Settings
from models.tables import Alert, InspectionNotice
from tasks.records.statistics import statistics, with_forecasts
from tasks.supervision.rectification import PACE_WARNING, restart_ladder, sweep, unit_progress
from tests.supervision.test_supervision import (
    FEEDBACK,
    LINK,
    at,
    items_of,
    report,
    to_rectification,
)

# PostgreSQL as well (`both_databases`) only where behaviour differs by database, marked per test
# with the reason. The rest-day rules are calendar logic in Python; the forecast over stored rows
# and the outbox's dedupe also run on PostgreSQL.

DEADLINE = FEEDBACK + timedelta(days=60)  # 2027-03-11


def day(n: int) -> date:
    return FEEDBACK + timedelta(days=n)


def pace_alerts(s: Session) -> list[Alert]:
    return list(s.exec(select(Alert).where(col(Alert.dedupe_key).startswith("pace:")).order_by(col(Alert.id))))


def marks(s: Session) -> list[InspectionNotice]:
    return list(s.exec(select(InspectionNotice).where(col(InspectionNotice.kind).startswith(PACE_WARNING))))


def progress(s: Session, settings: Settings, iid: int, done: int, n: int) -> None:
    """The unit reports its first `done` items as 已完成待核 (the rest as 整改中) on day n."""
    items = [i.id for i in items_of(s, iid)]
    report(s, settings, iid, items[:done], "已完成待核", day(n), formal=False)  # type: ignore[arg-type]
    if items[done:]:
        report(s, settings, iid, items[done:], "整改中", day(n), formal=False)  # type: ignore[arg-type]


def run_days(s: Session, settings: Settings, days: range, reports: dict[int, dict[int, int]]) -> dict[int, int]:
    """Sweep every day (twice, as a repeated run would), the units reporting first; day → units warned."""
    warned = {}
    for n in days:
        for iid, done in reports.get(n, {}).items():
            progress(s, settings, iid, done, n)
        result = sweep(session=s, settings=settings, as_of=day(n), now=at(day(n)), link=LINK)
        s.commit()
        assert sweep(session=s, settings=settings, as_of=day(n), now=at(day(n)), link=LINK).pace_warnings == 0
        s.commit()
        warned[n] = result.pace_warnings
    return warned


@pytest.mark.both_databases  # dates and stored report times drive the forecast; the outbox's insert-or-ignore differs by dialect
def test_late_unit_warned_once_before_its_deadline(demo_org: Session, settings: Settings) -> None:
    """Reports on Mondays (days 8, 15, …). 城东街道 finishes 1 item a week of 10: late. 区教育局 2 a
    week of 10: early. 区交通投资集团 12 items at a pace whose estimate lands on the deadline itself
    several times: on time. 马岙村 never reports: no estimate, no warning."""
    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 10, "区教育局": 10, "区交通投资集团": 12, "马岙村": 2})
    late, early, on_time = ids["城东街道"], ids["区教育局"], ids["区交通投资集团"]  # 马岙村 never reports
    reports: dict[int, dict[int, int]] = {}
    for k, n in enumerate(range(8, 64, 7)):
        reports[n] = {late: k + 1}
        if 2 * (k + 1) <= 10:
            reports[n][early] = 2 * (k + 1)
        reports[n][on_time] = [1, 3, 4, 6, 7, 9, 10, 12][k]
    warned = run_days(s, settings, range(0, 15), reports)
    assert set(warned.values()) == {0}  # fewer than 14 days observed: no estimate yet
    warned = run_days(s, settings, range(15, 16), reports)
    assert warned == {15: 1}
    # The daily progress artifact and `stats --by 单位` on that day.
    rows = {r["单位"]: r for r in unit_progress(session=s, settings=settings, as_of=day(15))}
    assert list(rows["城东街道"]) == ["轮次", "单位", "整改事项", "已销号", "已逾期", "整改到位率", "预计完成"]
    # 2 done in 15 days, 8 left: 60 days more. 4 in 15, 6 left: 23 days. 3 in 15, 9 left: 45 days.
    assert {u: r["预计完成"] for u, r in rows.items()} == {
        "城东街道": f"{day(75)}（晚于完成时限）", "区教育局": str(day(38)), "区交通投资集团": str(DEADLINE),
        "马岙村": "尚未报送进展"}
    by_unit, labels = with_forecasts(session=s, settings=settings, rows=statistics(session=s, by="单位"), as_of=day(15))
    assert labels["forecast"] == "预计完成"
    assert {r["name"]: r["forecast"] for r in by_unit} == {u: r["预计完成"] for u, r in rows.items()}

    warned = run_days(s, settings, range(16, 71), reports)
    assert set(warned.values()) == {0}  # still late at every report, but already warned
    alerts = pace_alerts(s)
    assert {(a.role, a.recipient) for a in alerts} == {
        ("unit_secretary", "json://127.0.0.1:8765/unit/chengdong"), ("liaison_leader", "json://127.0.0.1:8765/leader/wu")}
    assert len(alerts) == 2 and {aware(a.created_at).date() for a in alerts} == {day(15)} and day(15) < DEADLINE
    for a in alerts:
        assert a.title == "【整改进度预警】"
        assert a.body.startswith("2026年第一轮巡察·城东街道：自2027-01-10以来每周约完成0.9项整改任务，"
                                 f"按此进度尚余8项预计{day(75)}才能全部完成，其中")
        assert f"最早{DEADLINE}到期" in a.body and "城东街道问题" not in a.body  # counts and dates only
    assert marks(s) == []  # past the deadline the overdue ladder has the unit: the warning is lifted


@pytest.mark.both_databases  # the once-only warning rests on the outbox's dedupe (insert-or-ignore per dialect)
def test_warned_again_only_when_the_situation_changes(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 10, "区教育局": 1, "区交通投资集团": 1, "马岙村": 1})
    a = ids["城东街道"]
    # Late on day 15 (2 in 15 days); back on pace on day 22 (5 more in the 14 days since day 8).
    warned = run_days(s, settings, range(8, 37), {8: {a: 1}, 15: {a: 2}, 22: {a: 6}})
    assert [n for n, w in warned.items() if w] == [15]
    assert marks(s) == []
    # Then it stops reporting: from day 37 its report of day 22 is more than 14 days old and today
    # counts, 5 done in 29 days since day 8: the last of the 4 left needs 24 days, 23 are left.
    assert run_days(s, settings, range(37, 38), {}) == {37: 1}
    (mark,) = marks(s)
    assert mark.as_of == day(37)
    # A new deadline for its items is a new situation, even though it stays late.
    for item in items_of(s, a):
        if item.status == "整改中":
            restart_ladder(item, day(59), settings)
            s.add(item)
    s.commit()
    assert run_days(s, settings, range(38, 40), {}) == {38: 1, 39: 0}
    bodies = [x.body for x in pace_alerts(s) if x.role == "unit_secretary"]
    assert len(bodies) == 3
    assert f"尚余4项预计{day(61)}才能全部完成" in bodies[1] and f"最早{DEADLINE}到期" in bodies[1]
    assert f"最早{day(59)}到期" in bodies[2]


def test_a_rest_day_holds_the_warning(demo_org: Session, settings: Settings) -> None:
    """Late on Sunday 2027-01-24 (reports on Sundays): the alert waits for Monday 8:30, unless the
    rectification rule sends on rest days."""
    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 10, "区教育局": 1, "区交通投资集团": 1, "马岙村": 1})
    a = ids["城东街道"]
    assert day(14).weekday() == 6
    assert run_days(s, settings, range(7, 15), {7: {a: 1}, 14: {a: 2}}) == {n: int(n == 14) for n in range(7, 15)}
    alerts = pace_alerts(s)
    assert len(alerts) == 2
    assert {aware(x.next_attempt_at) for x in alerts} == {datetime.combine(day(15), time(8, 30), tzinfo=CHINA)}


def test_rest_day_rule_sends_at_once(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 10, "区教育局": 1, "区交通投资集团": 1, "马岙村": 1})
    a = ids["城东街道"]
    always = settings.model_copy(update={"rest_day_alerts": ["rectification"]})
    run_days(s, always, range(7, 15), {7: {a: 1}, 14: {a: 2}})
    assert {aware(x.next_attempt_at) for x in pace_alerts(s)} == {at(day(14))}


def test_no_warning_once_overdue(demo_org: Session, settings: Settings) -> None:
    """A unit first reporting after its deadline is the overdue ladder's, not the early warning's."""
    s = demo_org
    ids = to_rectification(s, settings, {"城东街道": 10, "区教育局": 1, "区交通投资集团": 1, "马岙村": 1})
    a = ids["城东街道"]
    assert set(run_days(s, settings, range(61, 70), {61: {a: 1}}).values()) == {0}
    assert pace_alerts(s) == [] and marks(s) == []
    row = next(r for r in unit_progress(session=s, settings=settings, as_of=day(69)) if r["单位"] == "城东街道")
    assert row["已逾期"] == 10 and row["预计完成"] == f"{day(61 + 9 * 61)}"  # 1 done in 61 days, 9 left after day 61
