"""Early warning from velocity (整改进度预警): when will a unit finish its open rectification items
at the pace its progress reports show, and which of them will that make late?

Pure functions over plain values (no database, no clock); tasks/supervision/rectification.py feeds them. The
model, as docs/rectification.md (督促整改与回头看) states it in Chinese:

- **Done** is 已完成待核 or 已销号 (the unit's part is finished; 销号 is the office's step);
  **open** is 未开始 or 整改中.
- **Observations.** Rectification starts at the feedback date with nothing done. Each day the unit
  reported progress gives the number of its items done at the end of that day (each item counted by
  its latest report up to then). The last observation is the last report day — or today, with the
  last report's count, once that report is more than `min_days` days old: what has not been
  reported is not known to be done, so a unit that stops reporting slows down in the estimate.
- **Pace** = items done between the base day and the last observation ÷ the days between them.
  The base day is the `reports`-th last report day (the feedback date when there were fewer
  reports); while that spans fewer than `min_days` days it moves back to the report before (at
  most to the feedback date). Days are counted as the rectification rule counts them (自然日 or
  工作日).
- **Projection.** From the last observation the open items are finished one after another in
  deadline order at that pace: the k-th finishes ceil(k ÷ pace) days later. The estimate (预计完成)
  is when the last one finishes, and never before today.
- **Late** are the open items not yet due (deadline after today) projected to finish after their
  deadline. A pace of zero or less (nothing finished in the span, or items reopened) makes every
  open item not yet due late, with no finish date. Items already due are the overdue ladder's.
- **No estimate** when every item is done, when the unit has sent no progress report, or when
  fewer than `min_days` days have been observed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction

from models.enums import DayCount, ItemStatus
from tasks.infra.workdays import WorkCalendar

DONE_STATUSES = frozenset({ItemStatus.PENDING_CHECK, ItemStatus.CLOSED})


def is_done(status: str) -> bool:
    """已完成待核 and 已销号 count as done; 未开始 and 整改中 as open."""
    return ItemStatus(status) in DONE_STATUSES


class PaceKind(StrEnum):
    DONE = "已全部完成"
    NO_REPORTS = "尚未报送进展"
    TOO_EARLY = "暂不估计"
    STALLED = "近期无新完成"
    ESTIMATED = "已估计"


@dataclass(frozen=True)
class Snapshot:
    """Items done at the end of a day the unit reported progress."""

    day: date
    done: int


@dataclass(frozen=True)
class Forecast:
    kind: PaceKind
    open_items: int = 0
    since: date | None = None  # the base day the pace is measured from
    per_week: Fraction | None = None  # items per week (7 days, or 5 working days)
    finish: date | None = None  # 预计完成: when the last open item is projected to be finished
    late: tuple[date, ...] = ()  # deadlines, not yet due, of the open items projected to miss them

    @property
    def text(self) -> str:
        """The 预计完成 column."""
        if self.kind is PaceKind.ESTIMATED:
            return f"{self.finish}（晚于完成时限）" if self.late else str(self.finish)
        return {PaceKind.TOO_EARLY: "暂不估计（报送进展时间尚短）",
                PaceKind.STALLED: "近期无新完成，无法估计"}.get(self.kind, self.kind.value)

    @property
    def per_week_text(self) -> str:
        return f"{float(self.per_week or 0):.1f}"


def done_counts(*, reports: Iterable[tuple[int, date, str]]) -> list[Snapshot]:
    """(item, day, status) in the order they were reported → items done at the end of each day."""
    state: dict[int, bool] = {}
    by_day: dict[date, int] = {}
    for item, day, status in reports:
        state[item] = is_done(status)
        by_day[day] = sum(state.values())
    return [Snapshot(day, done) for day, done in sorted(by_day.items())]


def _offsets(n: int, span: int, done: int) -> list[int]:
    """Days after the last observation at which the k-th of n open items is finished, k = 1..n: ceil(k·span/done)."""
    return [-(-k * span // done) for k in range(1, n + 1)]


def forecast(
    *, deadlines: Sequence[date], history: Sequence[Snapshot], start: date | None, as_of: date,
    calendar: WorkCalendar, count: DayCount, reports: int = 3, min_days: int = 14,
) -> Forecast:
    """The unit's forecast: `deadlines` of its open items, `history` from done_counts, `start` the
    feedback date (None if unknown: the first report is then the earliest observation)."""
    if not deadlines:
        return Forecast(PaceKind.DONE)
    seen = [s for s in history if s.day <= as_of]
    if not seen:
        return Forecast(PaceKind.NO_REPORTS, open_items=len(deadlines))
    points = ({start: 0} if start is not None and start < seen[0].day else {}) | {s.day: s.done for s in seen}
    end, done_end = seen[-1].day, seen[-1].done
    if calendar.between(end, as_of, count) > min_days:  # silent for too long: today is an observation
        end, points[as_of] = as_of, done_end
    days = sorted(points)
    report_days = [s.day for s in seen]
    i = days.index(report_days[-reports] if len(report_days) >= reports else days[0])
    while i > 0 and calendar.between(days[i], end, count) < min_days:
        i -= 1
    base, span = days[i], calendar.between(days[i], end, count)
    open_items, ordered = len(deadlines), sorted(deadlines)
    if span < min_days:
        return Forecast(PaceKind.TOO_EARLY, open_items=open_items, since=base)
    done = done_end - points[base]
    if done <= 0:
        return Forecast(PaceKind.STALLED, open_items=open_items, since=base, per_week=Fraction(0),
                        late=tuple(d for d in ordered if d > as_of))
    offsets = _offsets(open_items, span, done)
    room = {d: calendar.between(end, d, count) for d in set(ordered) if d > as_of}
    late = tuple(d for d, k in zip(ordered, offsets, strict=True) if d in room and k > room[d])
    week = 5 if count == DayCount.WORKING else 7
    return Forecast(PaceKind.ESTIMATED, open_items=open_items, since=base, per_week=Fraction(done * week, span),
                    finish=max(calendar.add(end, offsets[-1], count), as_of), late=late)


_RANK = {PaceKind.DONE: 0, PaceKind.NO_REPORTS: 1, PaceKind.TOO_EARLY: 2, PaceKind.ESTIMATED: 3, PaceKind.STALLED: 4}


def slowest(*, forecasts: Iterable[Forecast]) -> Forecast | None:
    """One forecast for a unit rectifying in more than one round: the one finishing last (no pace at
    all counts as last of all, then the latest finish date)."""
    return max(forecasts, key=lambda f: (_RANK[f.kind], f.finish or date.min), default=None)
