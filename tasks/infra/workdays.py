"""The working-day calendar (工作日): every deadline the system computes, and whether a day's
reminders may go out, is decided here.

The State Council's holidays and adjusted working days (调休) come from the maintained
`chinese-calendar` package. For a year it does not know yet, the office enters the published
notice into the application database (`xuncha holidays`, the page /office/holidays;
tasks/infra/holidays.py); a year none knows is counted with weekends only, a Chinese warning
names the year, and deadlines so counted are kept as provisional (暂按周末计算) until the year is
entered. A year the office entered overrides the package, so an office can correct a day.

An older editable file (settings.holidays_path) is still read, below the database, in this
format (YAML), one entry per year:

    2027:
      放假: [2027-01-01, 2027-02-06~2027-02-13]
      调休上班: [2027-02-14]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import chinese_calendar
import yaml

from models.clock import CHINA
from models.enums import DayCount
from models.errors import DomainError
from models.settings import DeadlineRule, Settings
from tasks.infra.textio import yaml_problem

if TYPE_CHECKING:
    from sqlmodel import Session

log = logging.getLogger("xuncha.workdays")

WORKDAY_START = time(8, 30)  # alerts held over a rest day go out when the office opens
REST, WORK = "放假", "调休上班"
PACKAGE_YEARS = (min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year)


@dataclass(frozen=True)
class OfficeYear:
    rest: frozenset[date]
    working: frozenset[date]


@dataclass
class WorkCalendar:
    office: dict[int, OfficeYear] = field(default_factory=dict)
    source: Path | None = None
    entered: frozenset[int] = frozenset()  # the years of `office` the office entered in the database
    warnings: list[str] = field(default_factory=list)
    unknown_years: list[int] = field(default_factory=list)  # the year of each warning

    def is_working_day(self, day: date) -> bool:
        year = self.office.get(day.year)
        if year is not None:
            return day in year.working or (day not in year.rest and day.weekday() < 5)
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:  # a year the package has no schedule for
            self._unknown_year(day.year)
            return day.weekday() < 5

    def knows(self, year: int) -> bool:
        return year in self.office or PACKAGE_YEARS[0] <= year <= PACKAGE_YEARS[1]

    def provisional(self, start: date, end: date, count: DayCount) -> bool:
        """A period counted in working days over a year the calendar does not know: 暂按周末计算."""
        return count == DayCount.WORKING and not all(self.knows(y) for y in range(start.year, end.year + 1))

    def _unknown_year(self, year: int) -> None:
        if year in self.unknown_years:
            return
        self.unknown_years.append(year)
        where = self.source or "holidays.yaml"
        text = (f"{year}年的法定节假日和调休安排尚未收录（chinese-calendar 收录{PACKAGE_YEARS[0]}—{PACKAGE_YEARS[1]}年），"
                f"落在该年的期限暂按周六、周日休息计算；请巡察办录入国务院办公厅公布的{year}年放假安排"
                f"（命令 set-holidays {year} 文件.yaml 或“节假日安排”页面；旧办法{where}仍可用），录入后这些期限自动重算。")
        self.warnings.append(text)
        log.info(text)  # the sweep and the office's to-do say it to people (tasks/infra/holidays.py)

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add(self, start: date, days: int, count: DayCount) -> date:
        """The last day of a period of `days` after `start` (the start day itself not counted)."""
        if count == DayCount.NATURAL:
            return start + timedelta(days=days)
        day, left = start, days
        while left > 0:
            day += timedelta(days=1)
            left -= self.is_working_day(day)
        return day

    def between(self, start: date, end: date, count: DayCount) -> int:
        """Days after `start` up to and including `end` (the inverse of `add`); 0 if `end` is not later."""
        if count == DayCount.NATURAL:
            return max((end - start).days, 0)
        return sum(self.is_working_day(start + timedelta(days=k)) for k in range(1, (end - start).days + 1))

    def deadline(self, start: date, rule: DeadlineRule) -> date:
        return self.add(start, rule.days, rule.count)

    def hold_until(self, as_of: date, rule: DeadlineRule) -> datetime | None:
        """When a reminder of `rule` raised on `as_of` may go out: None for now, else the next
        working day's opening hour (a rule may say its alerts go out on rest days too)."""
        if rule.alerts_on_rest_days or self.is_working_day(as_of):
            return None
        return datetime.combine(self.next_working_day(as_of), WORKDAY_START, tzinfo=CHINA)


def span_text(rule: DeadlineRule) -> str:
    """'3个工作日' or '60日', as the period reads in alerts and documents."""
    return f"{rule.days}个工作日" if rule.count == DayCount.WORKING else f"{rule.days}日"


def template_days(rule: DeadlineRule) -> str:
    """The period as the Word templates take it: they write "{{ n }}日", so a working-day rule
    hands "15个工作" to read "15个工作日"."""
    return f"{rule.days}个工作" if rule.count == DayCount.WORKING else str(rule.days)


def _days(year: int, key: str, value: Any) -> set[date]:
    out: set[date] = set()
    for entry in value or []:
        where = f"节假日安排{year}年“{key}”中的“{entry}”"
        try:
            if isinstance(entry, date):
                first = last = entry
            else:
                a, _, b = str(entry).partition("~")
                first = date.fromisoformat(a.strip())
                last = date.fromisoformat(b.strip()) if b else first
        except ValueError:
            raise DomainError(f"{where}不是日期（应为 YYYY-MM-DD 或 YYYY-MM-DD~YYYY-MM-DD）") from None
        if first > last or first.year != year or last.year != year:
            raise DomainError(f"{where}不在{year}年内或起止颠倒")
        out |= {first + timedelta(days=k) for k in range((last - first).days + 1)}
    return out


class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """Dates stay text, so a bad one is refused here with its year and key, not deep in PyYAML."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_office_file(text: str) -> dict[int, OfficeYear]:
    """The office's schedule file; a bad entry is refused with its year and key named."""
    try:
        data = yaml.load(text, Loader=_Loader) or {}  # noqa: S506 - a SafeLoader without timestamps
    except yaml.YAMLError as exc:
        raise yaml_problem(exc, what="节假日安排文件") from None
    if not isinstance(data, dict):
        raise DomainError("节假日安排文件应按年份列出，如“2027: {放假: [...], 调休上班: [...]}”")
    years: dict[int, OfficeYear] = {}
    for year, entry in data.items():
        if not isinstance(year, int) or not isinstance(entry, dict):
            raise DomainError(f"节假日安排中的“{year}”应为年份，下列“{REST}”“{WORK}”")
        unknown = set(entry) - {REST, WORK}
        if unknown:
            raise DomainError(f"节假日安排{year}年中有无法识别的项：{'、'.join(map(str, sorted(unknown, key=str)))}")
        rest, working = _days(year, REST, entry.get(REST)), _days(year, WORK, entry.get(WORK))
        if rest & working:
            raise DomainError(f"节假日安排{year}年中{min(rest & working)}既是放假又是调休上班")
        years[year] = OfficeYear(frozenset(rest), frozenset(working))
    return years


def work_calendar(settings: Settings, session: Session | None = None) -> WorkCalendar:
    """The calendar with the years the office entered (read through `session`) over the older
    file, if there is one."""
    path = settings.holidays_path
    office = parse_office_file(path.read_text(encoding="utf-8")) if path.is_file() else {}
    entered: frozenset[int] = frozenset()
    if session is not None:
        from sqlmodel import select

        from models.tables import HolidayYear

        years = {y.year: office_year(y.festivals) for y in session.exec(select(HolidayYear))}
        office |= years
        entered = frozenset(years)
    return WorkCalendar(office=office, source=path, entered=entered)


def office_year(festivals: list[dict[str, Any]]) -> OfficeYear:
    """A stored year (models.tables.HolidayYear.festivals) as the days it rests and works."""
    rest: set[date] = set()
    working: set[date] = set()
    for f in festivals:
        for first, last in f.get("rest", []):
            a, b = date.fromisoformat(first), date.fromisoformat(last)
            rest |= {a + timedelta(days=k) for k in range((b - a).days + 1)}
        working |= {date.fromisoformat(d) for d in f.get("working", [])}
    return OfficeYear(frozenset(rest), frozenset(working))
