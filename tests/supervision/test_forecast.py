"""The velocity estimator (tasks/supervision/forecast.py) on synthetic progress: a unit that finishes early, one
that finishes exactly on its deadline, one that is late, and the edge cases (no report, one report,
too short to tell, zero pace, all done, a unit that stops reporting, deadlines in several batches,
working days over 2026's 中秋 and 国庆)."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from models.enums import DayCount
from tasks.infra.workdays import WorkCalendar
from tasks.supervision.forecast import (
    Forecast,
    PaceKind,
    Snapshot,
    done_counts,
    forecast,
    is_done,
    slowest,
)

START = date(2026, 3, 2)  # the feedback date: rectification starts with nothing done
DEADLINE = START + timedelta(days=60)


def day(n: int) -> date:
    return START + timedelta(days=n)


def weekly(*done: int, first: int = 7) -> list[Snapshot]:
    """Reports every 7 days from day `first`, with these cumulative done counts."""
    return [Snapshot(day(first + 7 * k), d) for k, d in enumerate(done)]


def estimate(open_items: int, history: list[Snapshot], as_of: int, deadline: date = DEADLINE, **kw: Any) -> Forecast:
    args: dict[str, Any] = {"deadlines": [deadline] * open_items, "history": history, "start": START,
                            "as_of": day(as_of), "calendar": WorkCalendar(), "count": DayCount.NATURAL} | kw
    return forecast(**args)


def test_early() -> None:
    """20 items, 3 a week: from day 7 (3 done) to day 21 (9 done) is 6 in 14 days; 11 left take 26 days."""
    f = estimate(11, weekly(3, 6, 9), as_of=21)
    assert (f.kind, f.since, f.per_week, f.finish, f.late) == (PaceKind.ESTIMATED, day(7), 3, day(47), ())
    assert f.text == str(day(47)) and f.per_week_text == "3.0"


def test_on_time_is_finishing_on_the_deadline_day() -> None:
    """2 a week with 14 left: the last one finishes 49 days after day 21, on day 70."""
    on_time = estimate(14, weekly(2, 4, 6), as_of=21, deadline=day(70))
    assert (on_time.finish, on_time.late, on_time.text) == (day(70), (), str(day(70)))
    # A day earlier, only the last of the 14 misses it (the 13th finishes on day 67).
    one_late = estimate(14, weekly(2, 4, 6), as_of=21, deadline=day(69))
    assert (one_late.finish, one_late.late, one_late.text) == (day(70), (day(69),), f"{day(70)}（晚于完成时限）")


def test_late() -> None:
    """1 a week with 17 left: 119 days; the 6th item already misses day 60 (42 days > 39 left)."""
    f = estimate(17, weekly(1, 2, 3), as_of=21)
    assert (f.kind, f.per_week, f.finish) == (PaceKind.ESTIMATED, 1, day(140))
    assert f.late == (DEADLINE,) * 12


def test_no_report() -> None:
    f = estimate(20, [], as_of=30)
    assert (f.kind, f.finish, f.late, f.text) == (PaceKind.NO_REPORTS, None, (), "尚未报送进展")


def test_one_report_counts_from_the_feedback_date() -> None:
    """5 done by day 20: 5 in 20 days; 15 left take 60 days."""
    f = estimate(15, [Snapshot(day(20), 5)], as_of=20)
    assert (f.since, f.finish) == (START, day(80))
    assert f.late == (DEADLINE,) * 5  # the 11th item needs 44 days, 40 are left


def test_too_early_to_tell() -> None:
    """Fewer than 14 days observed (the report is the last observation until it is 14 days old)."""
    for as_of in (10, 13, 24):
        f = estimate(15, [Snapshot(day(10), 5)], as_of=as_of)
        assert (f.kind, f.finish, f.late) == (PaceKind.TOO_EARLY, None, ()), as_of
        assert f.text == "暂不估计（报送进展时间尚短）"
    assert estimate(15, [Snapshot(day(10), 5)], as_of=10, min_days=10).kind == PaceKind.ESTIMATED


def test_zero_pace_makes_every_item_not_yet_due_late() -> None:
    overdue = day(20)
    f = forecast(deadlines=[overdue, DEADLINE, DEADLINE], history=weekly(2, 2, 2), start=START, as_of=day(21),
                 calendar=WorkCalendar(), count=DayCount.NATURAL)
    assert (f.kind, f.since, f.per_week, f.finish) == (PaceKind.STALLED, day(7), 0, None)
    assert f.late == (DEADLINE, DEADLINE)  # the overdue item is the escalation ladder's
    assert f.text == "近期无新完成，无法估计"
    # Items reported back to 整改中 (fewer done than at the base day) are no pace either.
    assert estimate(5, weekly(4, 5, 3), as_of=21).kind == PaceKind.STALLED


def test_all_done() -> None:
    f = estimate(0, weekly(2, 4, 6), as_of=21)
    assert (f.kind, f.text, f.late) == (PaceKind.DONE, "已全部完成", ())


def test_a_unit_that_stops_reporting_slows_down() -> None:
    """6 done by day 14, then silence: until the report is 14 days old the estimate stands; after
    that today is an observation with the same count."""
    history = weekly(3, 6)
    assert estimate(14, history, as_of=14).finish == day(47)  # 6 in 14 days, 14 left: 33 days
    assert estimate(14, history, as_of=28).finish == day(47)
    stale = estimate(14, history, as_of=29)  # 6 in 29 days: 14 left take 68 days
    assert (stale.since, stale.finish, len(stale.late)) == (START, day(97), 8)


def test_the_last_few_reports_set_the_pace() -> None:
    """A fast start does not hide a slow recent pace: the base is the 3rd last report."""
    f = estimate(10, weekly(6, 8, 9, 10), as_of=28)
    assert (f.since, f.per_week) == (day(14), 1)  # 8 → 10 from day 14 to day 28
    # With one report as the window, the base moves back until it spans 14 days.
    g = estimate(10, weekly(1, 2, 10), as_of=21, reports=1)
    assert (g.since, g.per_week) == (day(7), Fraction(9, 2))


def test_deadlines_in_batches_are_met_in_deadline_order() -> None:
    """One item overdue, five due on day 30 and five on day 90, at 1 a week from day 21: the
    overdue one goes first (7 days), then the day-30 batch (14…42 days, 9 are left), then the
    day-90 batch (49…77 days, 69 are left: its last two miss it)."""
    deadlines = [day(20)] + [day(30)] * 5 + [day(90)] * 5
    f = forecast(deadlines=deadlines, history=weekly(1, 2, 3), start=START, as_of=day(21),
                 calendar=WorkCalendar(), count=DayCount.NATURAL)
    assert f.late == (day(30),) * 5 + (day(90),) * 2
    assert f.finish == day(21 + 77)


def test_reports_after_the_day_of_the_estimate_are_not_used() -> None:
    assert estimate(11, weekly(3, 6, 9, 20), as_of=21) == estimate(11, weekly(3, 6, 9), as_of=21)


def test_working_days_over_mid_autumn_and_national_day() -> None:
    """Fed back Friday 2026-09-18, 5 of 10 done by Friday 10-09: 10 working days between them
    (9-20 is a 调休 Sunday; 9-25 中秋 and 10-01…10-07 off), so 5 left take 10 working days:
    10-10 (调休 Saturday) … 10-22. Counted on the calendar it is 5 in 21 days: 10-30."""
    kw: dict[str, Any] = {"deadlines": [date(2026, 10, 23)] * 5, "history": [Snapshot(date(2026, 10, 9), 5)],
                          "start": date(2026, 9, 18), "as_of": date(2026, 10, 9), "calendar": WorkCalendar(), "min_days": 10}
    working = forecast(count=DayCount.WORKING, **kw)
    assert (working.finish, working.late, working.per_week) == (date(2026, 10, 22), (), Fraction(5, 2))
    natural = forecast(count=DayCount.NATURAL, **kw)
    assert (natural.finish, natural.per_week) == (date(2026, 10, 30), Fraction(5, 3))
    assert natural.late == (date(2026, 10, 23),) * 2  # the 4th needs 17 days (84/5), 14 are left


def test_done_counts_follow_each_items_latest_report() -> None:
    d1, d2, d3 = day(7), day(14), day(21)
    reports = [(1, d1, "整改中"), (2, d1, "已完成待核"), (1, d2, "已完成待核"), (3, d2, "未开始"), (3, d2, "已完成待核"),
               (2, d3, "整改中")]  # item 2 reported back to 整改中
    assert done_counts(reports=reports) == [Snapshot(d1, 1), Snapshot(d2, 3), Snapshot(d3, 2)]
    assert [is_done(s) for s in ("未开始", "整改中", "已完成待核", "已销号")] == [False, False, True, True]


def test_slowest_of_several_rounds() -> None:
    done, early, late = Forecast(PaceKind.DONE), Forecast(PaceKind.ESTIMATED, finish=day(40)), Forecast(
        PaceKind.ESTIMATED, finish=day(80))
    stalled, none = Forecast(PaceKind.STALLED), Forecast(PaceKind.NO_REPORTS)
    assert slowest(forecasts=[early, done, late]) is late
    assert slowest(forecasts=[late, stalled]) is stalled
    assert slowest(forecasts=[done, none]) is none
    assert slowest(forecasts=[]) is None
