"""Working days (工作日): the State Council schedule with its 调休 days over 2026's 春节 and 国庆,
the office's file for a year the package does not know, deadlines by rule, and reminders held
over rest days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import Session, col, select

from models.clock import CHINA
from models.enums import DayCount
from models.errors import DomainError
from models.settings import Settings
from models.tables import Alert, ClueLetter
from tasks.clues import ledger as clues
from tasks.infra.workdays import WorkCalendar, parse_office_file, span_text, work_calendar
from tasks.supervision.rectification import sweep
from tests.conftest import LINK
from tests.support.factories import in_stationing

W, N = DayCount.WORKING, DayCount.NATURAL


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=CHINA)


def test_spring_festival_2026_and_its_adjusted_working_days() -> None:
    cal = WorkCalendar()
    days = [date(2026, 2, 13) + timedelta(days=k) for k in range(17)]  # Fri 13 Feb .. Sun 1 Mar
    working = {d.day for d in days if cal.is_working_day(d)}
    assert working == {13, 14, 24, 25, 26, 27, 28}  # 15–23 off; Sat 14 and Sat 28 are 调休 working days
    assert cal.add(date(2026, 2, 13), 3, W) == date(2026, 2, 25)  # 14, 24, 25
    assert cal.add(date(2026, 2, 13), 3, N) == date(2026, 2, 16)
    assert cal.add(date(2026, 2, 27), 1, W) == date(2026, 2, 28)  # a Saturday that is worked
    assert cal.next_working_day(date(2026, 2, 15)) == date(2026, 2, 24)
    assert cal.warnings == []


def test_national_day_2026_and_its_adjusted_working_days() -> None:
    cal = WorkCalendar()
    assert [d.day for d in (date(2026, 10, 1) + timedelta(days=k) for k in range(10)) if cal.is_working_day(d)] == [8, 9, 10]
    assert cal.is_working_day(date(2026, 9, 20))  # Sunday, 调休
    assert cal.add(date(2026, 9, 19), 1, W) == date(2026, 9, 20)
    assert cal.add(date(2026, 9, 30), 3, W) == date(2026, 10, 10)  # 8, 9 and Saturday 10
    assert cal.add(date(2026, 9, 25), 5, W) == date(2026, 10, 9)  # 28, 29, 30, 8, 9


def test_days_between_is_the_inverse_of_add() -> None:
    """The pace estimate (tasks/supervision/forecast.py) measures spans with it, as deadlines are counted."""
    cal = WorkCalendar()
    assert cal.between(date(2026, 9, 25), date(2026, 10, 9), W) == 5
    assert cal.between(date(2026, 9, 18), date(2026, 10, 9), W) == 10  # 20 (调休), 21–24, 28–30, 8, 9
    assert cal.between(date(2026, 9, 18), date(2026, 10, 9), N) == 21
    assert cal.between(date(2026, 10, 9), date(2026, 10, 9), W) == cal.between(date(2026, 10, 9), date(2026, 9, 1), N) == 0
    for start in (date(2026, 2, 10), date(2026, 9, 18)):
        for n in range(1, 30):
            assert cal.between(start, cal.add(start, n, W), W) == n


def test_a_year_the_package_does_not_know_warns_and_counts_weekends() -> None:
    cal = WorkCalendar(source=Path("/var/xuncha/holidays.yaml"))
    assert cal.add(date(2026, 12, 30), 3, W) == date(2027, 1, 4)  # 31 Dec, Fri 1 Jan (unknown), Mon 4 Jan
    assert cal.add(date(2027, 3, 1), 10, W) == date(2027, 3, 15)
    (warning,) = cal.warnings  # once per year, not once per day
    assert warning.startswith("2027年的法定节假日和调休安排尚未收录")
    assert "暂按周六、周日休息计算" in warning and "/var/xuncha/holidays.yaml" in warning
    assert WorkCalendar().add(date(2027, 3, 1), 10, N) == date(2027, 3, 11)  # natural days need no schedule


def test_the_office_file_fills_a_missing_year(settings: Settings) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.holidays_path.write_text("2027:\n  放假: [2027-01-01, 2027-02-06~2027-02-12]\n  调休上班: [2027-02-14]\n",
                                      encoding="utf-8")
    cal = work_calendar(settings)
    assert cal.add(date(2026, 12, 30), 3, W) == date(2027, 1, 5)  # 31 Dec, 4 Jan, 5 Jan
    assert cal.add(date(2027, 2, 5), 1, W) == date(2027, 2, 14)  # the office's 调休 Sunday
    assert not cal.is_working_day(date(2027, 2, 13)) and cal.warnings == []


@pytest.mark.parametrize(("text", "phrase"), [
    ("2027:\n  放假: [2027-02-30]\n", "节假日安排2027年“放假”中的“2027-02-30”不是日期"),
    ("2027:\n  放假: [2026-12-31]\n", "不在2027年内"),
    ("2027:\n  休息: [2027-01-01]\n", "节假日安排2027年中有无法识别的项：休息"),
    ("2027:\n  放假: [2027-01-02]\n  调休上班: [2027-01-02]\n", "2027-01-02既是放假又是调休上班"),
    ("- 2027-01-01\n", "应按年份列出"),
])
def test_a_bad_office_file_is_refused_by_name(text: str, phrase: str) -> None:
    with pytest.raises(DomainError, match=phrase):
        parse_office_file(text)


def test_each_rule_says_how_it_counts() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert {n: (s.rule(n).days, s.rule(n).count) for n in ("clue_ack", "clue_result", "plan", "report", "rectification",
                                                           "look_back")} == {
        "clue_ack": (3, W), "clue_result": (90, N), "plan": (15, N), "report": (60, N), "rectification": (60, N),
        "look_back": (30, N)}
    assert (span_text(s.rule("clue_ack")), span_text(s.rule("plan"))) == ("3个工作日", "15日")
    assert Settings(plan_count="工作日", _env_file=None).rule("plan").count == W  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="未知的期限规则：sweep"):
        Settings(rest_day_alerts=["sweep"], _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def stationing(demo_org: Session, settings: Settings) -> tuple[Session, int]:
    return demo_org, in_stationing(demo_org, settings, now=at(date(2026, 2, 9)), link=LINK)


def urgent_letter(s: Session, settings: Settings, iid: int, day: date) -> ClueLetter:
    cid = clues.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary="x", now=at(day)).id or 0
    letter = clues.transfer_urgent(session=s, settings=settings, by="陶文华", clue_id=cid, now=at(day), link=LINK)
    s.commit()
    return letter


def reminders(s: Session) -> list[Alert]:
    return list(s.exec(select(Alert).where(col(Alert.title).contains("催办")).order_by(col(Alert.id))))


def test_signing_period_skips_the_spring_festival_and_reminders_wait_for_a_working_day(
        stationing: tuple[Session, int], settings: Settings) -> None:
    s, iid = stationing
    letter = urgent_letter(s, settings, iid, date(2026, 2, 11))  # Wednesday before 春节
    assert letter.ack_due_on == date(2026, 2, 14)  # 12, 13 and the 调休 Saturday
    result = sweep(session=s, settings=settings, as_of=date(2026, 2, 14), now=at(date(2026, 2, 14)), link=LINK)
    s.commit()
    first = reminders(s)
    assert result.held_until is None and [a.role for a in first] == ["discipline_commission"]
    assert first[0].next_attempt_at.replace(tzinfo=CHINA) == at(date(2026, 2, 14))  # a working day: goes out now
    holiday = date(2026, 2, 17)  # three days late, in the middle of the holiday: the office's rung
    result = sweep(session=s, settings=settings, as_of=holiday, now=at(holiday), link=LINK)
    s.commit()
    assert result.held_until == date(2026, 2, 24) and result.clue_reminders == 2
    held = reminders(s)[1:]
    assert {a.role for a in held} == {"discipline_commission", "office"}
    assert {a.next_attempt_at.replace(tzinfo=CHINA) for a in held} == {datetime(2026, 2, 24, 8, 30, tzinfo=CHINA)}


def test_a_rule_may_send_on_rest_days(stationing: tuple[Session, int], settings: Settings) -> None:
    s, iid = stationing
    urgent_letter(s, settings, iid, date(2026, 2, 11))
    eager = settings.model_copy(update={"rest_day_alerts": ["clue_ack"]})
    holiday = date(2026, 2, 17)
    sweep(session=s, settings=eager, as_of=holiday, now=at(holiday), link=LINK)
    assert {a.next_attempt_at.replace(tzinfo=CHINA) for a in reminders(s)} == {at(holiday)}


def test_national_day_signing_deadline_and_a_sweep_in_an_unknown_year(stationing: tuple[Session, int],
                                                                       settings: Settings) -> None:
    s, iid = stationing
    assert urgent_letter(s, settings, iid, date(2026, 9, 30)).ack_due_on == date(2026, 10, 10)
    day = date(2027, 1, 4)
    result = sweep(session=s, settings=settings, as_of=day, now=at(day), link=LINK)
    assert len(result.calendar_warnings) == 1 and "2027年" in result.calendar_warnings[0]
