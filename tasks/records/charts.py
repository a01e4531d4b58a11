"""Charts (PNG) for the office: rectification over time, per-unit rates, coverage by unit kind.

Drawn with matplotlib's object API on the Agg canvas (no pyplot state, safe in worker threads).
Labels are Chinese, so a CJK font is looked up among the installed ones (fonts-noto-cjk gives
“Noto Sans CJK SC”); without one the charts are still written, with missing glyphs as boxes.
Only counts are drawn.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from models.enums import ItemStatus, UnitKind
from models.errors import DomainError
from models.tables import Inspection, InspectionRound, RectificationItem, Unit
from tasks.lifecycle.rounds import get_round
from tasks.records.rates import rate_text
from tasks.records.statistics import rate_value, unit_figures

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PREFERRED_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "SimHei",
                   "Microsoft YaHei", "Noto Serif CJK SC")
SIZE = (10.0, 5.6)  # inches at 100 dpi: 1000 × 560 pixels
DPI = 100


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed font that has Chinese glyphs, preferring Noto Sans CJK SC."""
    _agg()
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in PREFERRED_FONTS:
        if name in names:
            return name
    return next((n for n in sorted(names) if "CJK" in n or "Hei" in n), None)


def _style() -> Any:  # matplotlib types rc keys as literals
    font = cjk_font()
    return {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "axes.unicode_minus": False}


@contextmanager
def _drawing() -> Iterator[None]:
    """The Chinese font for one figure; without one every glyph warns, though the chart is still useful."""
    _agg()
    from matplotlib import rc_context

    with rc_context(_style()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        yield


def _agg() -> None:
    """matplotlib is loaded when a chart is drawn, not when a flow run's process starts (a second
    of a busy machine for each run that draws nothing)."""
    import matplotlib

    matplotlib.use("Agg")


def _figure(figsize: tuple[float, float]) -> Figure:
    _agg()
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _save(fig: Figure, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    FigureCanvasAgg(fig)
    try:
        fig.savefig(tmp, dpi=DPI, format="png")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DomainError(f"无法写入图表文件：{path}（{exc.strerror or exc}）") from exc
    return path


def _day(session: Session, column: Any) -> Any:
    """The China-time calendar day of a timestamp column."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Shanghai", column))
    return func.date(column)  # SQLite keeps China time as written


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def rectification_series(*, session: Session, round_id: int) -> tuple[list[date], list[int], list[int]]:
    """Days, items known by each day (from the unit's feedback date) and items closed by each day."""
    day = _day(session, col(RectificationItem.closed_at))
    closed = session.execute(
        sa_select(day, func.count()).join(Inspection, col(Inspection.id) == RectificationItem.inspection_id)
        .where(col(Inspection.round_id) == round_id, col(RectificationItem.status) == ItemStatus.CLOSED,
               col(RectificationItem.closed_at).is_not(None))
        .group_by(day)).all()
    opened = session.execute(
        sa_select(col(Inspection.feedback_date), func.count()).join(
            RectificationItem, col(RectificationItem.inspection_id) == Inspection.id)
        .where(col(Inspection.round_id) == round_id).group_by(col(Inspection.feedback_date))).all()
    closed_by = {_as_date(d): int(n) for d, n in closed}
    first_closed = min(closed_by, default=None)
    # Items of a unit without a feedback date (not expected) count from the first closing.
    rnd = session.get(InspectionRound, round_id)
    fallback = first_closed or (rnd.start_date if rnd else date.min)
    opened_by: dict[date, int] = {}
    for d, n in opened:
        key = _as_date(d) if d is not None else fallback
        opened_by[key] = opened_by.get(key, 0) + int(n)
    if not opened_by and not closed_by:
        return [], [], []
    start, end = min([*opened_by, *closed_by]), max([*opened_by, *closed_by])
    days, total, done = [], [], []
    t = c = 0
    d = start
    while d <= end:
        t += opened_by.get(d, 0)
        c += closed_by.get(d, 0)
        days.append(d)
        total.append(t)
        done.append(c)
        d += timedelta(days=1)
    return days, total, done


def rectification_chart(*, session: Session, round_id: int, path: Path) -> Path:
    """整改进度: cumulative items and items closed by day for one round."""
    rnd = get_round(session=session, round_id=round_id)
    series = rectification_series(session=session, round_id=round_id)
    days: list[Any] = list(series[0])  # matplotlib plots dates though its stubs say numbers
    total, done = series[1], series[2]
    with _drawing():
        fig = _figure(figsize=SIZE)
        ax = fig.add_subplot()
        if days:
            # Markers keep a series of one day visible (a step line needs two points).
            ax.step(days, total, where="post", label="整改事项（累计）", color="#1f4e79", linewidth=2, marker="o")
            ax.step(days, done, where="post", label="已销号（累计）", color="#c00000", linewidth=2, marker="o")
            ax.fill_between(days, done, step="post", alpha=0.15, color="#c00000")
            ax.legend(loc="upper left")
            ax.set_ylim(bottom=0)
            if len(days) == 1:  # otherwise matplotlib spans years around the single day
                ax.set_xlim(days[0] - timedelta(days=7), days[0] + timedelta(days=7))
            fig.autofmt_xdate()
            ax.set_title(f"{rnd.name}：整改进度（整改到位率 {rate_text(done[-1], total[-1])}，{done[-1]}/{total[-1]}）")
        else:
            ax.text(0.5, 0.5, "暂无整改事项", ha="center", va="center", fontsize=16, transform=ax.transAxes)
            ax.set_title(f"{rnd.name}：整改进度")
        ax.set_xlabel("日期")
        ax.set_ylabel("事项数")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return _save(fig, path)


def unit_rates_chart(*, session: Session, round_id: int, path: Path) -> Path:
    """各单位整改到位率: one bar per unit of the round."""
    rnd = get_round(session=session, round_id=round_id)
    rows = unit_figures(session=session, round_id=round_id)
    with _drawing():
        fig = _figure(figsize=SIZE)
        ax = fig.add_subplot()
        names = [r["name"] for r in rows]
        values = [rate_value(r["rectified"], r["items"]) for r in rows]
        bars = ax.bar(names, values, color="#2e75b6")
        for bar, r in zip(bars, rows, strict=True):
            ax.annotate(r["rate"] if r["items"] else "无整改事项", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                        fontsize=9)
        ax.set_ylim(0, 110)
        ax.set_ylabel("整改到位率（%）")
        ax.set_title(f"{rnd.name}：各单位整改到位率")
        if not rows:
            ax.text(0.5, 0.5, "暂无被巡察单位", ha="center", va="center", fontsize=16, transform=ax.transAxes)
        ax.tick_params(axis="x", labelrotation=30)
        fig.tight_layout()
        return _save(fig, path)


def coverage(*, session: Session, since: date | None = None, until: date | None = None) -> list[tuple[str, int, int]]:
    """(unit kind, units inspected at least once in rounds starting in [since, until], all units)."""
    rounds = sa_select(col(Inspection.unit_id)).join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
    if since is not None:
        rounds = rounds.where(col(InspectionRound.start_date) >= since)
    if until is not None:
        rounds = rounds.where(col(InspectionRound.start_date) <= until)
    inspected = func.sum(case((col(Unit.id).in_(rounds), 1), else_=0))
    found = {str(getattr(k, "value", k)): (int(done or 0), int(n)) for k, done, n in session.execute(
        sa_select(col(Unit.kind), inspected, func.count()).group_by(col(Unit.kind))).all()}
    return [(kind.value, *found.get(kind.value, (0, 0))) for kind in UnitKind]


def coverage_chart(*, session: Session, path: Path, since: date | None = None, until: date | None = None) -> Path:
    """巡察覆盖: per unit kind, units inspected at least once against all units."""
    rows = coverage(session=session, since=since, until=until)
    with _drawing():
        fig = _figure(figsize=SIZE)
        ax = fig.add_subplot()
        xs = list(range(len(rows)))
        width = 0.38
        ax.bar([x - width / 2 for x in xs], [n for _, _, n in rows], width, label="单位总数", color="#bdd7ee")
        bars = ax.bar([x + width / 2 for x in xs], [d for _, d, _ in rows], width, label="已巡察", color="#2e75b6")
        for bar, (_, d, n) in zip(bars, rows, strict=True):
            ax.annotate(f"{d}/{n}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                        fontsize=9)
        ax.set_xticks(xs, [k for k, _, _ in rows])
        ax.set_ylabel("单位数")
        span = ("自" + since.isoformat() if since else "") + ("至" + until.isoformat() if until else "")
        done, total = sum(d for _, d, _ in rows), sum(n for _, _, n in rows)
        ax.set_title(f"巡察覆盖情况（按单位类型{('，' + span) if span else ''}）：{done}/{total}")
        ax.legend()
        ax.set_ylim(0, max([n for _, _, n in rows] + [1]) * 1.2)
        fig.tight_layout()
        return _save(fig, path)


def round_charts(*, session: Session, round_id: int, directory: Path) -> list[Path]:
    """The round's charts as PNG files in `directory`, with names fixed by the round id."""
    rnd = get_round(session=session, round_id=round_id)
    return [
        rectification_chart(session=session, round_id=round_id, path=directory / f"round-{round_id}-rectification.png"),
        unit_rates_chart(session=session, round_id=round_id, path=directory / f"round-{round_id}-unit-rates.png"),
        coverage_chart(session=session, path=directory / f"round-{round_id}-coverage.png", until=rnd.start_date),
    ]


def teams_chart(*, session: Session, path: Path, round_id: int | None = None, year: int | None = None) -> Path:
    """巡察组考评: per team, findings per unit (left) and indicator coverage and its units'
    rectification rate in percent (right); counts only (tasks/records/team_figures.py)."""
    from tasks.records.team_figures import team_evaluation

    rows = team_evaluation(session=session, round_id=round_id, year=year)
    names = [f"{r['round']}·{r['team']}" for r in rows]
    with _drawing():
        fig = _figure(figsize=SIZE)
        left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
        if not rows:
            left.text(0.5, 0.5, "暂无巡察组", ha="center", va="center", fontsize=16, transform=left.transAxes)
        ys = list(range(len(rows)))
        per_unit = [r["problems_found"] / r["units"] if r["units"] else 0.0 for r in rows]
        bars = left.barh(ys, per_unit, color="#2e75b6")
        for bar, r in zip(bars, rows, strict=True):
            left.annotate(f"{r['per_unit']}（{r['problems_found']}/{r['units']}）", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                          va="center", fontsize=8)
        left.set_yticks(ys, names)
        left.invert_yaxis()
        left.set_title("每单位发现问题数")
        height = 0.38
        cover = [r["examined"] * 100 / r["applicable"] if r["applicable"] else 0.0 for r in rows]
        rates = [rate_value(r["rectified"], r["items"]) for r in rows]
        right.barh([y - height / 2 for y in ys], cover, height, label="指标覆盖率", color="#70ad47")
        right.barh([y + height / 2 for y in ys], rates, height, label="整改到位率", color="#c00000")
        right.set_yticks(ys, ["" for _ in ys])
        right.invert_yaxis()
        right.set_xlim(0, 110)
        right.set_xlabel("%")
        right.set_title("指标覆盖率、所巡单位整改到位率")
        if rows:
            right.legend(loc="lower right", fontsize=8)
        fig.suptitle("巡察组考评")
        fig.tight_layout()
        return _save(fig, path)


def evaluation_chart(*, title: str, rows: list[tuple[str, dict[str, int], float | None]], path: Path) -> Path:
    """民主测评 / 问卷调查 of one unit: a bar per item, split by the share of each answer (in the
    sheet's order, the first answer darkest), the score beside it when the sheet gives one."""
    options = list(dict.fromkeys(k for _, counts, _ in rows for k in counts))
    palette = ["#1f4e79", "#2e75b6", "#9dc3e6", "#f4b183", "#c00000", "#7f7f7f"]
    with _drawing():
        fig = _figure(figsize=(SIZE[0], max(SIZE[1], 1.2 + 0.45 * len(rows))))
        ax = fig.add_subplot()
        labels = [item for item, _, _ in rows]
        ys = list(range(len(rows)))[::-1]
        left = [0.0] * len(rows)
        for n, option in enumerate(options):
            shares = [100 * counts.get(option, 0) / (sum(counts.values()) or 1) for _, counts, _ in rows]
            ax.barh(ys, shares, left=left, label=option, color=palette[n % len(palette)])
            left = [a + b for a, b in zip(left, shares, strict=True)]
        for y, (_, counts, score) in zip(ys, rows, strict=True):
            note = f"作答{sum(counts.values())}人" + (f"，{score:g}分" if score is not None else "")
            ax.annotate(note, (101, y), va="center", fontsize=9)
        ax.set_yticks(ys, labels)
        ax.set_xlim(0, 118)
        ax.set_xlabel("占比（%）")
        ax.set_title(title)
        if rows:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=max(1, len(options)), fontsize=9, frameon=False)
        else:
            ax.text(0.5, 0.5, "暂无结果", ha="center", va="center", fontsize=16, transform=ax.transAxes)
        fig.tight_layout()
        return _save(fig, path)
