"""Statistics, per-team evaluation and charts over a year of rounds inserted in bulk: every figure
equals what plain SQL counts independently, one statement per grouping."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import event, insert, text
from sqlmodel import Session, col, select

from models.clock import aware
from models.enums import ItemStatus, Stage
from models.errors import DomainError
from models.tables import Finding, Inspection, RectificationItem
from tasks.records.charts import coverage, coverage_chart, rectification_series, round_charts
from tasks.records.statistics import (
    per_inspector_evaluation,
    per_team_evaluation,
    round_summary,
    statistics,
    totals,
)
from tests.support.bulk import at, insert_year
from tests.support.factories import make_round

# The queries (and the China-time day of a closing) run on SQLite and the local PostgreSQL;
# charts and artifacts only read their results, so they run on SQLite alone.
BOTH = pytest.mark.both_databases

BASE = ("FROM inspection i JOIN inspection_round r ON r.id = i.round_id JOIN unit u ON u.id = i.unit_id "
        "JOIN team t ON t.id = i.team_id")
KEYS = {"轮次": "r.name", "单位": "u.name", "巡察组": "r.name || '·' || t.name",
        "年度": "substr(CAST(r.start_date AS VARCHAR(20)), 1, 4)"}
FED_BACK = "i.stage IN ('线索移交', '督促整改', '立卷归档', '已归档')"
# (measure, table joined to inspection, aggregate, condition)
SQL_MEASURES = [
    ("problems_found", "finding f ON f.inspection_id = i.id", "COUNT(*)", "1 = 1"),
    ("fed_back", "finding f ON f.inspection_id = i.id", "COUNT(*)", FED_BACK),
    ("fixed_on_site", "finding f ON f.inspection_id = i.id", "COUNT(*)", "f.fixed_on_site"),
    ("items", "rectification_item x ON x.inspection_id = i.id", "COUNT(*)", "1 = 1"),
    ("rectified", "rectification_item x ON x.inspection_id = i.id", "COUNT(*)", "x.status = '已销号'"),
    ("rules_made", "rectification_item x ON x.inspection_id = i.id", "SUM(x.rules_made)", "1 = 1"),
    ("clues_transferred", "clue c ON c.inspection_id = i.id", "COUNT(*)", "c.transferred_at IS NOT NULL"),
    ("cases", "clue c ON c.inspection_id = i.id", "COUNT(*)", "c.result IN ('立案审查调查', '留置', '移送司法机关', '党纪政务处分')"),
    ("sanctioned", "clue c ON c.inspection_id = i.id", "COUNT(*)", "c.result IN ('诫勉谈话', '留置', '移送司法机关', '党纪政务处分')"),
    ("clues", "clue c ON c.inspection_id = i.id", "COUNT(*)", "1 = 1"),
]


def pct(done: int, total: int) -> str:
    return "—" if not total else f"{(Decimal(done) * 100 / Decimal(total)).quantize(Decimal('0.01'), ROUND_HALF_UP)}%"


def expected(s: Session, key: str, where: str = "1 = 1") -> dict[str, dict[str, Any]]:
    """Every measure per group, each counted by its own plain SQL statement."""
    out: dict[str, dict[str, Any]] = {str(n): defaultdict(int) for (n,) in s.execute(text(f"SELECT DISTINCT {key} {BASE} WHERE {where}"))}
    for measure, joined, agg, cond in SQL_MEASURES:
        sql = f"SELECT {key}, {agg} {BASE} JOIN {joined} WHERE {cond} AND {where} GROUP BY {key}"
        for name, n in s.execute(text(sql)):
            out[str(name)][measure] = int(n or 0)
    for row in out.values():
        row["rate"] = pct(row["rectified"], row["items"])
    return out


def summed(groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {m: sum(g[m] for g in groups.values()) for m in MEASURE_KEYS if m != "rate"}
    return out | {"rate": pct(out["rectified"], out["items"])}


def strip(row: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {k: row[k] for k in keys}


MEASURE_KEYS = [m for m, *_ in SQL_MEASURES if m != "clues"] + ["rate"]


@contextmanager
def statements(s: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = s.get_bind()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def year(demo_org: Session) -> dict[str, Any]:
    return insert_year(demo_org)


@BOTH
def test_every_measure_per_level_matches_plain_sql(demo_org: Session, year: dict[str, Any]) -> None:
    s = demo_org
    assert year["findings"] > 2000 and year["items"] > 1000 and year["clues"] > 50
    for by, key in KEYS.items():
        with statements(s) as seen:
            rows = statistics(session=s, by=by)
        assert len(seen) == 1, "one GROUP BY statement per grouping"
        want = expected(s, key)
        assert {r["name"]: strip(r, MEASURE_KEYS) for r in rows} == {n: strip(w, MEASURE_KEYS) for n, w in want.items()}, by
        assert all(r["rate"].endswith("%") for r in rows if r["items"])
    assert [r["name"] for r in statistics(session=s, by="年度")] == ["2025", "2026"]


@BOTH
def test_statistics_within_one_round_and_one_year(demo_org: Session, year: dict[str, Any]) -> None:
    s = demo_org
    round_id = year["rounds"]["2026年第3轮巡察"]
    by_unit = statistics(session=s, by="单位", round_id=round_id)
    want = expected(s, KEYS["单位"], f"i.round_id = {round_id}")
    assert {r["name"]: strip(r, MEASURE_KEYS) for r in by_unit} == {n: strip(w, MEASURE_KEYS) for n, w in want.items()}
    in_2026 = statistics(session=s, by="轮次", year=2026)
    assert [r["name"] for r in in_2026] == [n for n in year["rounds"] if n.startswith("2026")]
    assert strip(totals(session=s, year=2026), MEASURE_KEYS) == summed(expected(s, "r.name", "r.start_date >= '2026-01-01'"))
    assert strip(totals(session=s), MEASURE_KEYS) == summed(expected(s, "r.name"))
    with pytest.raises(DomainError, match="统计口径应为：轮次、单位、巡察组、年度"):
        statistics(session=s, by="季度")


@BOTH
def test_round_summary_with_teams_and_units(demo_org: Session, year: dict[str, Any]) -> None:
    s = demo_org
    round_id = year["rounds"]["2026年第2轮巡察"]
    with statements(s) as seen:
        summary = round_summary(session=s, round_id=round_id)
    assert len(seen) <= 4  # the round, its totals, its teams, its units
    assert strip(summary, MEASURE_KEYS) == strip(expected(s, "r.name", f"i.round_id = {round_id}")["2026年第2轮巡察"], MEASURE_KEYS)
    teams = expected(s, "t.name", f"i.round_id = {round_id}")
    leaders: dict[str, str] = dict(s.execute(text(
        "SELECT t.name, p.name FROM team t JOIN team_member m ON m.team_id = t.id JOIN person p ON p.id = m.person_id "
        f"WHERE m.role = '组长' AND t.round_id = {round_id}")).tuples().all())
    unit_counts: dict[str, int] = dict(s.execute(text(
        f"SELECT t.name, COUNT(*) {BASE} WHERE i.round_id = {round_id} GROUP BY t.name")).tuples().all())
    assert {t["team"]: (t["problems_found"], t["clues"], t["clues_transferred"], t["items"], t["rectified"], t["rate"],
                        t["leader"], t["units"]) for t in summary["teams"]} == {
        n: (w["problems_found"], w["clues"], w["clues_transferred"], w["items"], w["rectified"], w["rate"], leaders[n],
            unit_counts[n]) for n, w in teams.items()}
    units = expected(s, "u.name", f"i.round_id = {round_id}")
    assert {u["name"]: strip(u, MEASURE_KEYS) for u in summary["units"]} == {n: strip(w, MEASURE_KEYS) for n, w in units.items()}
    assert sum(u["problems_found"] for u in summary["units"]) == summary["problems_found"]
    with pytest.raises(DomainError, match="巡察轮次不存在：999"):
        round_summary(session=s, round_id=999)


@BOTH
def test_team_evaluation_per_year_and_per_inspector(demo_org: Session, year: dict[str, Any]) -> None:
    s = demo_org
    teams = per_team_evaluation(session=s, year=2026)
    want = expected(s, KEYS["巡察组"], "r.start_date >= '2026-01-01'")
    assert {f"{t['round']}·{t['team']}": (t["problems_found"], t["clues"], t["rate"]) for t in teams} == {
        n: (w["problems_found"], w["clues"], w["rate"]) for n, w in want.items()}
    # An inspector carries the figures of every team they served in.
    per_team = expected(s, "t.id")
    served: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, team_id, role in s.execute(text(
            "SELECT p.name, m.team_id, m.role FROM team_member m JOIN person p ON p.id = m.person_id")):
        served[name].append((str(team_id), role))
    people = {p["name"]: p for p in per_inspector_evaluation(session=s)}
    assert set(people) == set(served)
    for name, teams_of in served.items():
        p = people[name]
        found = sum(per_team[t]["problems_found"] for t, _ in teams_of)
        items = sum(per_team[t]["items"] for t, _ in teams_of)
        done = sum(per_team[t]["rectified"] for t, _ in teams_of)
        assert (p["teams"], p["led"], p["problems_found"], p["clues"], p["items"], p["rate"]) == (
            len(teams_of), sum(r == "组长" for _, r in teams_of), found, sum(per_team[t]["clues"] for t, _ in teams_of),
            items, pct(done, items)), name


def test_liuzhou_rate_1172_fed_back_590_rectified(demo_org: Session) -> None:
    """Liuzhou 2017: 590 of 1,172 fed-back problems rectified is 50.34%."""
    s = demo_org
    rnd, (insp, *_) = make_round(s)
    insp.stage, insp.feedback_date = Stage.RECTIFICATION, date(2017, 3, 1)
    s.add(insp)
    s.commit()
    s.execute(insert(Finding), [{"id": k, "inspection_id": insp.id, "category": "党的建设", "description": f"问题{k}",
                                 "created_at": at(date(2017, 2, 1))} for k in range(1, 1173)])
    s.execute(insert(RectificationItem), [
        {"inspection_id": insp.id, "finding_id": k, "deadline": date(2017, 5, 1),
         "status": ItemStatus.CLOSED if k <= 590 else ItemStatus.IN_PROGRESS,
         "closed_at": at(date(2017, 4, 1)) if k <= 590 else None} for k in range(1, 1173)])
    s.commit()
    assert rnd.id is not None
    summary = round_summary(session=s, round_id=rnd.id)
    assert (summary["fed_back"], summary["items"], summary["rectified"], summary["rate"]) == (1172, 1172, 590, "50.34%")
    assert s.get(Inspection, insp.id) is not None


@BOTH
def test_rectification_series_and_coverage(demo_org: Session, year: dict[str, Any]) -> None:
    s = demo_org
    round_id = year["rounds"]["2026年第4轮巡察"]
    days, total, done = rectification_series(session=s, round_id=round_id)
    closed = [aware(c).date() for c in s.exec(
        select(RectificationItem.closed_at).join(Inspection, col(Inspection.id) == RectificationItem.inspection_id)
        .where(Inspection.round_id == round_id, RectificationItem.status == ItemStatus.CLOSED)) if c is not None]
    n_items = s.execute(text(f"SELECT COUNT(*) FROM rectification_item x JOIN inspection i ON i.id = x.inspection_id "
                             f"WHERE i.round_id = {round_id}")).scalar_one()
    assert days == [days[0] + timedelta(days=k) for k in range(len(days))]
    assert total[-1] == n_items and done[-1] == len(closed)
    for d, n in zip(days, done, strict=True):
        assert n == sum(c <= d for c in closed)
    assert all(a <= b for a, b in zip(done, total, strict=True))
    rows = coverage(session=s, since=date(2026, 1, 1))
    want: dict[str, int] = dict(s.execute(text(
        "SELECT u.kind, COUNT(DISTINCT u.id) FROM unit u JOIN inspection i ON i.unit_id = u.id "
        "JOIN inspection_round r ON r.id = i.round_id WHERE r.start_date >= '2026-01-01' GROUP BY u.kind")).tuples().all())
    all_units: dict[str, int] = dict(s.execute(text("SELECT kind, COUNT(*) FROM unit GROUP BY kind")).tuples().all())
    assert rows == [(k, want.get(k, 0), all_units[k]) for k in ("乡镇街道", "部门", "国有企业", "社区村")]


def test_charts_are_valid_pngs(demo_org: Session, year: dict[str, Any], tmp_path: Path) -> None:
    s = demo_org
    round_id = year["rounds"]["2026年第4轮巡察"]
    paths = round_charts(session=s, round_id=round_id, directory=tmp_path / "图表")
    assert [p.name for p in paths] == [f"round-{round_id}-rectification.png", f"round-{round_id}-unit-rates.png",
                                       f"round-{round_id}-coverage.png"]
    paths.append(coverage_chart(session=s, path=tmp_path / "coverage.png", since=date(2026, 1, 1)))
    for p in paths:
        with Image.open(p) as img:
            img.verify()
        with Image.open(p) as img:
            assert img.format == "PNG" and img.size == (1000, 560)
            assert len(img.getcolors(maxcolors=1 << 20) or []) > 20  # drawn, not blank
    with pytest.raises(DomainError, match="巡察轮次不存在"):
        round_charts(session=s, round_id=999, directory=tmp_path / "无")
    assert not (tmp_path / "无").exists()


def test_chart_of_a_round_without_items(demo_org: Session, tmp_path: Path) -> None:
    rnd, _ = make_round(demo_org)
    assert rnd.id is not None
    for p in round_charts(session=demo_org, round_id=rnd.id, directory=tmp_path):
        with Image.open(p) as img:
            assert img.size == (1000, 560)


def test_artifact_rows_carry_counts_only(demo_org: Session, year: dict[str, Any]) -> None:
    """What the flows publish: per-round table, rates for progress bars, a unit's figures at archiving."""
    import json
    from dataclasses import asdict

    import flows.lifecycle.inspect_unit  # noqa: F401  (the flows that publish these load)
    import flows.supervision.supervise_rectification  # noqa: F401
    from tasks.records.prefect import round_statistic_rows, unit_figure_rows

    s = demo_org
    stats = asdict(round_statistic_rows(session=s))  # the typed hand-off, as the rows it carries
    assert [r["轮次"] for r in stats["table"]] == list(year["rounds"])
    assert list(stats["table"][0]) == ["轮次", "发现问题", "反馈问题", "立行立改", "整改事项", "整改到位", "整改到位率",
                                       "移交线索", "立案", "处分处理人数", "建章立制"]
    overall = totals(session=s)
    assert stats["overall"] == {"progress": round(overall["rectified"] * 100 / overall["items"], 2),
                                "rate": overall["rate"], "items": overall["items"]}
    assert all(0 <= r["progress"] <= 100 and r["rate"].endswith("%") for r in stats["rounds"]) and stats["rounds"]
    iid = s.execute(text("SELECT MIN(id) FROM inspection WHERE stage = '已归档'")).scalar_one()
    figures = unit_figure_rows(session=s, inspection_id=iid)
    assert [f["指标"] for f in figures][:3] == ["发现问题", "反馈问题", "立行立改"]
    dumped = json.dumps([stats, figures], ensure_ascii=False, default=str)
    assert "测试线索" not in dumped and "问题1" not in dumped
    with pytest.raises(DomainError, match="巡察任务不存在"):
        unit_figure_rows(session=s, inspection_id=99999)


def test_charts_without_a_chinese_font(demo_org: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks.records.charts

    monkeypatch.setattr(tasks.records.charts, "cjk_font", lambda: None)
    path = coverage_chart(session=demo_org, path=tmp_path / "coverage.png")
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size == (1000, 560)
