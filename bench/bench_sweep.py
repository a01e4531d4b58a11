#!/usr/bin/env python
"""Benchmark of the daily supervision sweep (`tasks.supervision.rectification.sweep_notices`) over a large
table of rectification items, against hand-written SQL doing the same work in the same run.

    .venv/bin/python bench/bench_sweep.py                  # SQLite, 1,000,000 items
    .venv/bin/python bench/bench_sweep.py --items 20000    # a small run (tests, CI)
    .venv/bin/python bench/bench_sweep.py --postgres       # the same on PostgreSQL
    .venv/bin/python bench/bench_sweep.py --variants       # also time alternative SQL (SQLite)

Each variant runs on a fresh copy of the same generated data (SQLite: a copy of the database
file; PostgreSQL: a fresh schema filled from a source schema); the pair runs `--runs` times,
alternating which goes first, and the medians are reported. Both must leave the same notice
rows and item rows behind (compared by checksum queries), or the script exits with 1.

The last line printed is `RATIO <sweep/sql> SECONDS <sweep s> RSS_MB <peak>`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Only light modules at the top: the data generator runs in a child process that needs the
# schema but not the application (tasks.* pulls in Prefect and is imported lazily).
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.sql.schema import ScalarElementColumnDefault  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

from models.db import make_engine, table_of  # noqa: E402
from models.enums import FindingScope, ItemStatus, RoundKind, RoundStatus, Stage, UnitKind  # noqa: E402
from models.settings import Settings  # noqa: E402
from models.tables import RectificationItem, SupervisionNotice  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_AS_OF = date(2026, 6, 30)
INSPECTIONS = 1000  # parent rows: one round and team, 1,000 units and inspections
OPEN_PER_MILLE = 300  # about 30% of the items not closed (已销号)
SPAN_DAYS = 731  # deadlines uniformly over as_of - 365 … as_of + 365
PG_SRC, PG_RUN = "bench_sweep_src", "bench_sweep_run"
TIMESTAMP = "2026-01-05 09:00:00"
OPEN_STATUSES = (ItemStatus.NOT_STARTED, ItemStatus.IN_PROGRESS, ItemStatus.PENDING_CHECK)
TARGET_SECONDS, TARGET_RATIO, TARGET_RSS_MB = 2.0, 1.5, 300.0
BIG_TABLES = ("finding", "rectification_item", "supervision_notice")
DIFFERENT = "（语义不同，仅供参考）"

ITEM_TABLE = table_of(RectificationItem)
NOTICE_TABLE = table_of(SupervisionNotice)


# SQL spellings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sql:
    """The few spellings that differ between SQLite and PostgreSQL."""

    pg: bool

    @property
    def param(self) -> str:
        return "%s" if self.pg else "?"

    def day(self, d: date) -> str:
        return f"DATE '{d}'" if self.pg else f"'{d}'"

    def ts(self) -> str:
        return f"TIMESTAMPTZ '{TIMESTAMP}+08'" if self.pg else f"'{TIMESTAMP}.000000'"

    def plus(self, expr: str, days: str | int) -> str:
        """A date expression plus a number of days, in the form the column stores."""
        if self.pg:
            return f"({expr} + {days})" if isinstance(days, int) else f"({expr} + CAST({days} AS INTEGER))"
        if isinstance(days, int):
            return f"date({expr}, '{days:+d} days')"
        return f"date({expr}, ({days}) || ' days')"

    def mod(self, a: str, b: int) -> str:
        return f"mod({a}, {b})" if self.pg else f"({a} % {b})"

    def days(self, expr: str) -> str:
        """Whole days since 2000-01-01 (for checksums)."""
        if self.pg:
            return f"({expr} - DATE '2000-01-01')"
        return f"CAST(julianday({expr}) - julianday('2000-01-01') AS INTEGER)"

    def series(self, n: int) -> str:
        if self.pg:
            return f"n(i) AS (SELECT CAST(g AS BIGINT) FROM generate_series(1, {n}) AS g)"
        return f"n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.pg else f"max({a}, {b})"

    def literal(self, value: Any) -> str:
        if isinstance(value, Enum):
            value = value.value
        if isinstance(value, bool):
            return ("true" if value else "false") if self.pg else str(int(value))
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, date):
            return self.day(value)
        return "'" + str(value).replace("'", "''") + "'"

    def as_of(self, d: date) -> Any:
        """The as_of parameter as the application binds it (SQLite stores ISO text)."""
        return d if self.pg else d.isoformat()

    def no_params(self) -> Any:
        return None if self.pg else ()  # psycopg must get None for a query without parameters


def ladder_of(settings: Settings) -> list[int]:
    """Day offsets from the deadline of each rung: the reminder, then the escalations."""
    return [-settings.reminder_days_before, *settings.escalation_offsets_days]


def insert_sql(q: Sql, table: str, values: dict[str, str], source: str = "", with_: str = "") -> str:
    """INSERT … SELECT of `values` (column → SQL expression). NOT NULL columns left out get their
    model default, so a new column with a default does not break the generator."""
    cols = dict(values)
    for c in SQLModel.metadata.tables[table].columns:
        if c.name in cols or c.nullable or c.primary_key:
            continue
        if not isinstance(c.default, ScalarElementColumnDefault):
            raise SystemExit(f"数据生成：{table}.{c.name} 非空且没有默认值，请在 bench/bench_sweep.py 中补上")
        cols[c.name] = q.literal(c.default.arg)
    head = f"WITH RECURSIVE {with_} " if with_ else ""
    return f"{head}INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols.values())} {source}".rstrip()


def generation_sql(q: Sql, n: int, as_of: date, ladder: list[int], state: str) -> list[str]:
    """Set-based statements that fill an empty schema with `n` items and their parents.

    Items: deadlines spread uniformly over two years around `as_of`, ~30% open (the others
    closed, next_action_on NULL), every 11th in its second ladder cycle.
    state "catch-up" (the default): open items at rung 0, next_action_on = deadline - reminder,
    except every third one, already advanced along the ladder as if swept before (rung k due on
    deadline + offset[k-1]; never beyond the rungs whose day lies before `as_of`).
    state "daily": every open item as a daily sweep up to the day before `as_of` leaves it.
    Advanced items have the notices of the rungs they passed.
    """
    insp = min(INSPECTIONS, n)
    rungs = len(ladder)
    a, ts = q.day(as_of), q.ts()
    n_past = "(" + " + ".join(f"CASE WHEN d + ({off}) < 0 THEN 1 ELSE 0 END" for off in ladder) + ")"
    want = f"CASE WHEN i % 3 = 0 THEN 1 + (i / 3) % {rungs} ELSE 0 END" if state == "catch-up" else str(rungs)
    next_on = " ".join(f"WHEN {r} THEN {q.plus(a, f'd + ({off})')}" for r, off in enumerate(ladder))
    status = " ".join(f"WHEN {k} THEN '{s.value}'" for k, s in enumerate(OPEN_STATUSES))
    values = ", ".join(f"({r}, {off})" for r, off in enumerate(ladder))
    items = (
        f"{q.series(n)}, "
        f"g AS (SELECT i, (i * 7919) % {SPAN_DAYS} - {SPAN_DAYS // 2} AS d, "
        f"CASE WHEN (i * 104729) % 1000 < {OPEN_PER_MILLE} THEN 1 ELSE 0 END AS o, {want} AS want FROM n), "
        f"h AS (SELECT i, d, o, CASE WHEN o = 0 THEN 0 WHEN want < {n_past} THEN want ELSE {n_past} END AS k FROM g)"
    )
    due = q.plus("it.deadline", "l.off")
    return [
        insert_sql(q, "unit", {"id": "i", "name": "'基准单位' || i", "kind": f"'{UnitKind.DEPARTMENT.value}'"},
                   "FROM n", with_=q.series(insp)),
        insert_sql(q, "inspection_round", {
            "id": "1", "name": "'基准轮次'", "kind": f"'{RoundKind.REGULAR.value}'",
            "start_date": q.day(as_of - timedelta(days=500)), "end_date": q.day(as_of - timedelta(days=470)),
            "status": f"'{RoundStatus.ACTIVE.value}'", "created_at": ts}),
        insert_sql(q, "team", {"id": "1", "round_id": "1", "name": "'第一巡察组'"}),
        insert_sql(q, "inspection", {
            "id": "i", "round_id": "1", "unit_id": "i", "team_id": "1", "stage": f"'{Stage.RECTIFICATION.value}'",
            "feedback_date": q.day(as_of - timedelta(days=430))}, "FROM n", with_=q.series(insp)),
        insert_sql(q, "finding", {
            "id": "i", "inspection_id": f"(i - 1) % {insp} + 1", "category": "'党的建设'", "description": "'基准问题'",
            "scope": f"'{FindingScope.INDIVIDUAL.value}'", "created_at": ts}, "FROM n", with_=q.series(n)),
        insert_sql(q, "rectification_item", {
            "id": "i", "inspection_id": f"(i - 1) % {insp} + 1", "finding_id": "i", "deadline": q.plus(a, "d"),
            "status": f"CASE WHEN o = 1 THEN CASE (i / 7) % 3 {status} END ELSE '{ItemStatus.CLOSED.value}' END",
            "closed_at": f"CASE WHEN o = 1 THEN NULL ELSE {ts} END",
            "ladder_cycle": "CASE WHEN i % 11 = 0 THEN 1 ELSE 0 END",
            "next_rung": "k", "next_action_on": f"CASE WHEN o = 1 THEN CASE k {next_on} ELSE NULL END ELSE NULL END",
        }, "FROM h", with_=items),
        insert_sql(q, "supervision_notice", {
            "item_id": "it.id", "inspection_id": "it.inspection_id", "ladder_cycle": "it.ladder_cycle",
            "rung": "l.r", "due_on": due, "as_of": due,
        }, f"FROM rectification_item AS it JOIN ladder AS l ON l.r < it.next_rung WHERE it.next_rung > 0 "
           f"ORDER BY {due}, it.id", with_=f"ladder(r, off) AS (VALUES {values})"),
    ]


def stats_sql(q: Sql) -> str:
    closed, p = ItemStatus.CLOSED.value, q.param
    return (
        "SELECT (SELECT count(*) FROM rectification_item), "
        f"(SELECT count(*) FROM rectification_item WHERE status <> '{closed}'), "
        f"(SELECT count(*) FROM rectification_item WHERE next_rung > 0 AND status <> '{closed}'), "
        f"(SELECT count(*) FROM rectification_item WHERE next_action_on <= {p}), "
        "(SELECT count(*) FROM supervision_notice)"
    )


STAT_NAMES = ("items", "open", "advanced", "due", "old_notices")


def hand_sql(q: Sql, offsets: Sequence[int], ordered: bool = False) -> tuple[str, str]:
    """The hand-written pair: one INSERT … SELECT of the due rungs and one UPDATE of the ladder.

    `ordered` (SQLite) feeds the notices to the unique (item, cycle, rung) index in item order;
    `id + 0` keeps the planner on the next_action_on index (plain `id` makes it scan the table)."""
    p = q.param
    insert = (
        "INSERT INTO supervision_notice (item_id, inspection_id, ladder_cycle, rung, due_on, as_of) "
        f"SELECT id, inspection_id, ladder_cycle, next_rung, next_action_on, {p} FROM rectification_item "
        f"WHERE next_action_on <= {p}" + (" ORDER BY id + 0" if ordered else "")
    )
    whens = " ".join(f"WHEN {k} THEN {q.plus('deadline', off)}" for k, off in enumerate(offsets))
    update = (
        "UPDATE rectification_item SET next_rung = next_rung + 1, "
        f"next_action_on = CASE next_rung {whens} ELSE NULL END WHERE next_action_on <= {p}"
    )
    return insert, update


def one_pass_sql(q: Sql, ladder: Sequence[int], as_of: date, ordered: bool = True) -> tuple[str, str]:
    """The catch-up of all due rungs in one INSERT (joined to the ladder) and one UPDATE.

    Same rows as the rung-by-rung loop while next_action_on is the date of next_rung (which
    first_action_on, restart_ladder and the sweep's own UPDATE maintain)."""
    p, rungs = q.param, len(ladder)
    cut = [as_of - timedelta(days=off) for off in ladder]  # rung r is due when deadline <= cut[r]
    # A derived table, not a CTE: sqlite3's cursor.rowcount is -1 for a statement that starts with WITH.
    rows = " UNION ALL ".join(f"SELECT {r} AS r, {off} AS off, {q.day(c)} AS cut"
                              for r, (off, c) in enumerate(zip(ladder, cut, strict=True)))
    reached = "CASE " + " ".join(f"WHEN deadline <= {q.day(cut[r])} THEN {r + 1}" for r in reversed(range(rungs)))
    new_rung = q.greatest("next_rung + 1", reached + " ELSE 0 END")
    nxt = f"CASE {new_rung} " + " ".join(f"WHEN {r} THEN {q.plus('deadline', ladder[r])}" for r in range(1, rungs))
    insert = (
        "INSERT INTO supervision_notice (item_id, inspection_id, ladder_cycle, rung, due_on, as_of) "
        "SELECT it.id, it.inspection_id, it.ladder_cycle, l.r, "
        f"CASE WHEN l.r = it.next_rung THEN it.next_action_on ELSE {q.plus('it.deadline', 'l.off')} END, {p} "
        f"FROM rectification_item AS it JOIN ({rows}) AS l ON l.r >= it.next_rung "
        f"WHERE it.next_action_on <= {p} AND (l.r = it.next_rung OR it.deadline <= l.cut)"
        + (" ORDER BY it.id + 0, l.r" if ordered else "")
    )
    update = (f"UPDATE rectification_item SET next_rung = {new_rung}, next_action_on = {nxt} ELSE NULL END "
              f"WHERE next_action_on <= {p}")
    return insert, update


def top_rung_sql(q: Sql, ladder: Sequence[int], as_of: date) -> tuple[str, str]:
    """NOT the same rows: one notice per due item, for its highest due rung only (the rungs it
    skipped get none). For the README's question of what a catch-up could cost at most."""
    p, rungs = q.param, len(ladder)
    cut = [as_of - timedelta(days=off) for off in ladder]
    reached = "CASE " + " ".join(f"WHEN deadline <= {q.day(cut[r])} THEN {r + 1}" for r in reversed(range(rungs)))
    top = q.greatest("next_rung", f"({reached} ELSE 0 END) - 1")
    dates = " ".join(f"WHEN {r} THEN {q.plus('deadline', ladder[r])}" for r in range(rungs))
    insert = (
        "INSERT INTO supervision_notice (item_id, inspection_id, ladder_cycle, rung, due_on, as_of) "
        f"SELECT id, inspection_id, ladder_cycle, {top}, "
        f"CASE WHEN {top} = next_rung THEN next_action_on ELSE CASE {top} {dates} END END, {p} "
        f"FROM rectification_item WHERE next_action_on <= {p} ORDER BY id + 0"
    )
    return insert, one_pass_sql(q, ladder, as_of)[1]


def checksum_sql(q: Sql) -> list[str]:
    p = q.param
    return [
        f"SELECT count(*), count(next_action_on), sum(next_rung), sum(next_rung * {q.mod('id', 10007)}), "
        f"sum({q.days('next_action_on')} * {q.mod('id', 9973)}) FROM rectification_item",
        f"SELECT count(*), sum(rung), sum((rung + 1) * {q.mod('item_id', 10007)}), "
        f"sum({q.days('due_on')} * {q.mod('item_id', 9973)}), sum(inspection_id), "
        f"sum(ladder_cycle * {q.mod('item_id', 101)}) FROM supervision_notice WHERE as_of = {p}",
        "SELECT count(*) FROM supervision_notice",
    ]


def by_rung_sql(q: Sql) -> str:
    return f"SELECT rung, count(*) FROM supervision_notice WHERE as_of = {q.param} GROUP BY rung ORDER BY rung"


def window_sql(q: Sql) -> str:
    return f"SELECT count(*) FROM rectification_item WHERE next_action_on > {q.param} AND next_action_on <= {q.param}"


# Runs -----------------------------------------------------------------------------------------


@dataclass
class Run:
    kind: str  # "sweep", "sql" or a variant's name
    seconds: float = 0.0
    cpu: float = 0.0  # CPU time of this process (SQLite works in-process; PostgreSQL does not)
    commit: float = 0.0
    by_rung: dict[int, int] = field(default_factory=dict)
    statements: list[tuple[str, float, int]] = field(default_factory=list)  # (sql, seconds, rows)
    checksum: tuple[Any, ...] = ()

    @property
    def notices(self) -> int:
        return sum(self.by_rung.values())

    def breakdown(self) -> str:
        parts: dict[str, float] = {}
        passes = 0
        for sql, secs, _rows in self.statements:
            verb = sql.split(None, 1)[0].upper()
            name = {"SELECT": "统计查询"}.get(verb, verb)
            parts[name] = parts.get(name, 0.0) + secs
            passes += verb == "INSERT"
        parts["提交"] = self.commit
        return f"{passes} 遍；" + "，".join(f"{k} {v:.3f} s" for k, v in parts.items())


def ints(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(None if v is None else int(v) for v in row)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fmt(n: int) -> str:
    return f"{n:,}"


class StatementLog:
    """Per-statement timings of what the application's session sends to the database."""

    def __init__(self, engine: Engine) -> None:
        self.rows: list[tuple[str, Any, float, int]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        elapsed = time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        self.rows.append((statement, parameters, elapsed, cursor.rowcount))


def time_sweep(url: str, settings: Settings, as_of: date) -> tuple[Run, list[tuple[str, Any]]]:
    """The application's sweep in its own Session, committed; the clock covers both."""
    from tasks.supervision.rectification import sweep_notices

    engine = make_engine(url)
    try:
        with engine.connect():  # open the pooled connection (and its pragmas) before the clock
            pass
        log = StatementLog(engine)
        c0, t0 = time.process_time(), time.perf_counter()
        with Session(engine) as session:
            by_rung = sweep_notices(session=session, settings=settings, as_of=as_of)
            t1 = time.perf_counter()
            session.commit()
        t2, c2 = time.perf_counter(), time.process_time()
    finally:
        engine.dispose()
    stmts = [(s, secs, rows) for s, _p, secs, rows in log.rows]
    run = Run("sweep", seconds=t2 - t0, cpu=c2 - c0, commit=t2 - t1, by_rung=dict(by_rung), statements=stmts)
    return run, [(s, p) for s, p, _secs, _rows in log.rows if not s.upper().startswith(("BEGIN", "SELECT 1"))]


def run_hand_sql(conn: Any, q: Sql, pair: tuple[str, str], as_of: date, passes: int,
                 begin: Callable[[], Any], commit: Callable[[], Any], kind: str = "sql") -> Run:
    """INSERT then UPDATE, repeated while the INSERT finds due rungs (at most `passes` times)."""
    insert, update = pair
    day = q.as_of(as_of)
    n_ins, n_upd = insert.count(q.param), update.count(q.param)
    run = Run(kind)
    cur = conn.cursor()
    c0, t0 = time.process_time(), time.perf_counter()
    begin()
    for _ in range(passes):
        s = time.perf_counter()
        cur.execute(insert, (day,) * n_ins)
        inserted = cur.rowcount
        run.statements.append((insert, time.perf_counter() - s, inserted))
        if not inserted:
            break
        s = time.perf_counter()
        cur.execute(update, (day,) * n_upd)
        run.statements.append((update, time.perf_counter() - s, cur.rowcount))
    t1 = time.perf_counter()
    commit()
    t2, c2 = time.perf_counter(), time.process_time()
    run.seconds, run.cpu, run.commit = t2 - t0, c2 - c0, t2 - t1
    cur.execute(by_rung_sql(q), (day,))
    run.by_rung = {int(r): int(c) for r, c in cur.fetchall()}
    if q.pg:
        conn.rollback()
    return run


def checksum(conn: Any, q: Sql, as_of: date) -> tuple[Any, ...]:
    cur = conn.cursor()
    out: list[Any] = []
    for sql in checksum_sql(q):
        cur.execute(sql, (q.as_of(as_of),) if q.param in sql else q.no_params())
        out.append(ints(cur.fetchone()))
    if q.pg:
        conn.rollback()
    return tuple(out)


def median_time(fn: Callable[[], Any], times: int = 3) -> tuple[float, Any]:
    result, secs = None, []
    for _ in range(times):
        t0 = time.perf_counter()
        result = fn()
        secs.append(time.perf_counter() - t0)
    return statistics.median(secs), result


@dataclass
class Context:
    explain: list[str] = field(default_factory=list)
    window_seconds: float = 0.0
    window_count: int = 0
    next_day: Run | None = None
    variants: list[tuple[str, Run, bool | None]] = field(default_factory=list)  # (label, run, same rows)
    peak_mb: float | None = None  # the process peak before the variants (their caches are not the sweep's)


# SQLite ---------------------------------------------------------------------------------------


def sqlite_connect(path: Path) -> sqlite3.Connection:
    """A raw connection set up like models.db.make_engine's (WAL, busy_timeout, foreign keys)."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=60000", "PRAGMA foreign_keys=ON"):
        conn.execute(pragma)
    return conn


def generate_sqlite(path: Path, n: int, as_of: date, ladder: list[int], state: str) -> dict[str, Any]:
    """Child process: the schema via create_all on make_engine, then the set-based inserts."""
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    q = Sql(pg=False)
    conn = sqlite3.connect(path, isolation_level=None)
    # Generation only: the rows are consistent by construction; the indexes are built at the end.
    for pragma in ("PRAGMA foreign_keys=OFF", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-262144"):
        conn.execute(pragma)
    marks = ", ".join("?" * len(BIG_TABLES))
    indexes = conn.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                           f"AND tbl_name IN ({marks})", BIG_TABLES).fetchall()
    conn.execute("BEGIN")
    for name, _sql in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    for sql in generation_sql(q, n, as_of, ladder, state):
        conn.execute(sql)
    for _name, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    row = conn.execute(stats_sql(q), (as_of.isoformat(),)).fetchone()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return dict(zip(STAT_NAMES, row, strict=True))


def copy_file(src: Path, dst: Path) -> None:
    """Copy and fsync, so that the copy's write-back does not land inside a timed commit."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout, 16 << 20)
        fout.flush()
        os.fsync(fout.fileno())


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def explain_sqlite(path: Path, statements: list[tuple[str, Any]]) -> list[str]:
    conn = sqlite_connect(path)
    lines, seen = [], set()
    for sql, params in statements:
        if sql in seen:
            continue
        seen.add(sql)
        plan = conn.execute("EXPLAIN QUERY PLAN " + sql, params or ()).fetchall()
        lines.append(f"  {sql.split(None, 1)[0].upper():6} → " + "；".join(str(r[-1]) for r in plan))
    conn.close()
    return lines


def sqlite_hand_run(db: Path, q: Sql, pair: tuple[str, str], as_of: date, passes: int,
                    pragmas: Sequence[str] = (), kind: str = "sql") -> Run:
    conn = sqlite_connect(db)
    for pragma in pragmas:
        conn.execute(pragma)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the schema, before the clock
    run = run_hand_sql(conn, q, pair, as_of, passes, lambda: conn.execute("BEGIN IMMEDIATE"),
                       lambda: conn.execute("COMMIT"), kind=kind)
    conn.close()
    return run


def alternate(runs: int, one: Callable[[int, str], Run]) -> tuple[list[Run], list[Run]]:
    """The sweep and the hand-written SQL in turn, on fresh copies, the order swapped every run so
    that neither always goes first; `one(r, kind)` measures one of them. Prints each pair."""
    sweeps: list[Run] = []
    sqls: list[Run] = []
    for r in range(runs):
        for kind in ("sweep", "sql") if r % 2 == 0 else ("sql", "sweep"):
            (sweeps if kind == "sweep" else sqls).append(one(r, kind))
        print_pair(r, sweeps[-1], sqls[-1])
    return sweeps, sqls


def bench_sqlite(args: argparse.Namespace, settings: Settings) -> tuple[list[Run], list[Run], Context]:
    workdir = Path(tempfile.mkdtemp(prefix="bench_sweep_", dir=args.workdir))
    src = workdir / "source.db"
    ladder = ladder_of(settings)
    q = Sql(pg=False)
    pair = hand_sql(q, settings.escalation_offsets_days)
    try:
        t0 = time.perf_counter()
        # Generate in a child process (its memory is not the sweep's), meanwhile import the app.
        child = subprocess.Popen(
            [sys.executable, __file__, "--generate-sqlite", str(src), "--items", str(args.items),
             "--as-of", args.as_of.isoformat(), "--state", args.state, f"--ladder={','.join(map(str, ladder))}"],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            import tasks.supervision.rectification  # noqa: F401

            out, _ = child.communicate()
        finally:
            if child.poll() is None:  # interrupted: stop our own generator
                child.kill()
                child.wait()
        if child.returncode:
            raise SystemExit(f"数据生成失败（退出码 {child.returncode}）")
        stats = json.loads(out.strip().splitlines()[-1])
        with open(src, "rb+") as f:  # the generator wrote without syncing: flush it before the clock
            os.fsync(f.fileno())
        print(f"SQLite {sqlite3.sqlite_version}；数据生成 {time.perf_counter() - t0:.1f} s（子进程，不计时）；"
              f"数据库文件 {src.stat().st_size / 2**20:.0f} MB")
        print_stats(stats, args)

        ctx = Context()

        def one(r: int, kind: str) -> Run:
            db = workdir / f"run{r}-{kind}.db"
            copy_file(src, db)
            if kind == "sweep":
                run, statements = time_sweep(f"sqlite:///{db}", settings, args.as_of)
            else:
                run = sqlite_hand_run(db, q, pair, args.as_of, len(ladder))
            conn = sqlite_connect(db)
            run.checksum = checksum(conn, q, args.as_of)
            conn.close()
            if kind == "sweep" and r == args.runs - 1:
                sqlite_context(ctx, db, settings, args.as_of, statements)
            remove_db(db)
            return run

        sweeps, sqls = alternate(args.runs, one)
        if args.variants:
            ctx.peak_mb = rss_mb()
            sqlite_variants(ctx, workdir, src, settings, args.as_of, sqls[0].checksum)
        return sweeps, sqls, ctx
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def sqlite_context(ctx: Context, db: Path, settings: Settings, as_of: date, statements: list[tuple[str, Any]]) -> None:
    """On the swept copy: query plans, a plain indexed count, and the next day's sweep."""
    q = Sql(pg=False)
    lo, hi = as_of.isoformat(), (as_of + timedelta(days=20)).isoformat()
    ctx.explain = explain_sqlite(db, [*statements, (window_sql(q), (lo, hi))])
    conn = sqlite_connect(db)
    ctx.window_seconds, ctx.window_count = median_time(lambda: conn.execute(window_sql(q), (lo, hi)).fetchone()[0])
    conn.close()
    ctx.next_day, _ = time_sweep(f"sqlite:///{db}", settings, as_of + timedelta(days=1))


def sqlite_variants(ctx: Context, workdir: Path, src: Path, settings: Settings, as_of: date,
                    reference: tuple[Any, ...]) -> None:
    """Other ways to write the same rows, once each on a fresh copy, for the README."""
    q, ladder, offsets = Sql(pg=False), ladder_of(settings), settings.escalation_offsets_days
    big_cache = "PRAGMA cache_size=-65536"
    variants: list[tuple[str, tuple[str, str], Sequence[str]]] = [
        ("同结构手写 SQL（对照）", hand_sql(q, offsets), ()),
        ("同结构 + 按事项编号排序插入（ORDER BY id + 0）", hand_sql(q, offsets, ordered=True), ()),
        ("同结构 + cache_size 64 MB", hand_sql(q, offsets), (big_cache,)),
        ("一次补齐各级（与阶梯表连接）+ 排序", one_pass_sql(q, ladder, as_of), ()),
        ("一次补齐各级 + 排序 + cache_size 64 MB", one_pass_sql(q, ladder, as_of), (big_cache,)),
        (DIFFERENT + "每项只写最高一级 + 一次补齐 + 排序", top_rung_sql(q, ladder, as_of), ()),
    ]
    for label, pair, pragmas in variants:
        db = workdir / "variant.db"
        copy_file(src, db)
        run = sqlite_hand_run(db, q, pair, as_of, len(ladder), pragmas, kind=label)
        conn = sqlite_connect(db)
        run.checksum = checksum(conn, q, as_of)
        conn.close()
        remove_db(db)
        same = None if label.startswith(DIFFERENT) else run.checksum == reference
        ctx.variants.append((label, run, same))
        result = {None: f"，写通知 {fmt(run.notices)} 条", True: "，结果相同", False: "，结果不同！"}[same]
        print(f"  备选写法：{label}：{run.seconds:.3f} s（CPU {run.cpu:.3f} s；{run.breakdown()}）{result}", flush=True)


# PostgreSQL -----------------------------------------------------------------------------------


def pg_url(base: str, search_path: str) -> str:
    url = make_url(base).update_query_dict({"options": f"-csearch_path={search_path}"})
    return url.render_as_string(hide_password=False)


def pg_connect(base: str, search_path: str | None = None, autocommit: bool = False) -> Any:
    import psycopg

    u = make_url(base)
    kw: dict[str, Any] = {"host": u.host, "port": u.port, "user": u.username, "password": u.password,
                          "dbname": u.database}
    if search_path:
        kw["options"] = f"-csearch_path={search_path}"
    return psycopg.connect(**{k: v for k, v in kw.items() if v is not None}, autocommit=autocommit)


def pg_setval(conn: Any, table: str) -> None:
    conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                 f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")


def pg_prepare_run(base: str) -> None:
    """A fresh run schema with copies of the two tables the sweep writes; the parents stay in
    the source schema, found through the search path (and by the foreign keys)."""
    with pg_connect(base, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {PG_RUN} CASCADE")
        admin.execute(f"CREATE SCHEMA {PG_RUN}")
    engine = make_engine(pg_url(base, f"{PG_RUN},{PG_SRC}"))
    SQLModel.metadata.create_all(engine, tables=[ITEM_TABLE, NOTICE_TABLE], checkfirst=False)
    engine.dispose()
    with pg_connect(base, autocommit=True) as conn:
        for t in ("rectification_item", "supervision_notice"):
            conn.execute(f"INSERT INTO {PG_RUN}.{t} SELECT * FROM {PG_SRC}.{t}")
            pg_setval(conn, f"{PG_RUN}.{t}")
        conn.execute(f"VACUUM (ANALYZE) {PG_RUN}.rectification_item, {PG_RUN}.supervision_notice")
        try:
            conn.execute("CHECKPOINT")  # the copy's dirty buffers out before the clock
        except Exception:  # not a superuser: the background writer will do it
            pass


def bench_postgres(args: argparse.Namespace, settings: Settings) -> tuple[list[Run], list[Run], Context]:
    import tasks.supervision.rectification  # noqa: F401

    base = args.postgres
    ladder = ladder_of(settings)
    q = Sql(pg=True)
    pair = hand_sql(q, settings.escalation_offsets_days)
    run_path = f"{PG_RUN},{PG_SRC}"
    try:
        t0 = time.perf_counter()
        with pg_connect(base, autocommit=True) as admin:
            version = admin.execute("SHOW server_version").fetchone()[0]
            for schema in (PG_RUN, PG_SRC):
                admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            admin.execute(f"CREATE SCHEMA {PG_SRC}")
        engine = make_engine(pg_url(base, PG_SRC))
        SQLModel.metadata.create_all(engine)
        engine.dispose()
        with pg_connect(base, PG_SRC) as conn:
            for sql in generation_sql(q, args.items, args.as_of, ladder, args.state):
                conn.execute(sql)
            for t in SQLModel.metadata.tables.values():
                if "id" in t.c and t.c.id.primary_key:
                    pg_setval(conn, t.name)
            conn.commit()
            stats = dict(zip(STAT_NAMES, ints(conn.execute(stats_sql(q), (args.as_of,)).fetchone()), strict=True))
            conn.rollback()
        with pg_connect(base, PG_SRC, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) " + ", ".join(SQLModel.metadata.tables))
        print(f"PostgreSQL {version}；数据生成 {time.perf_counter() - t0:.1f} s（不计时）；"
              f"每次运行前从模式 {PG_SRC} 复制被写的两张表到新建的模式 {PG_RUN}")
        print_stats(stats, args)

        ctx = Context()

        def one(r: int, kind: str) -> Run:
            pg_prepare_run(base)
            if kind == "sweep":
                run, statements = time_sweep(pg_url(base, run_path), settings, args.as_of)
            else:
                with pg_connect(base, run_path) as conn:
                    run = run_hand_sql(conn, q, pair, args.as_of, len(ladder), lambda: None, conn.commit)
            with pg_connect(base, run_path) as conn:
                run.checksum = checksum(conn, q, args.as_of)
            if kind == "sweep" and r == args.runs - 1:
                pg_context(ctx, base, run_path, settings, args.as_of, statements)
            return run

        sweeps, sqls = alternate(args.runs, one)
        return sweeps, sqls, ctx
    finally:
        with pg_connect(base, autocommit=True) as admin:
            for schema in (PG_RUN, PG_SRC):
                admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def pg_context(ctx: Context, base: str, path: str, settings: Settings, as_of: date,
               statements: list[tuple[str, Any]]) -> None:
    q = Sql(pg=True)
    lo, hi = as_of, as_of + timedelta(days=20)
    window = window_sql(q).replace("%s", "%(lo)s", 1).replace("%s", "%(hi)s", 1)
    engine = make_engine(pg_url(base, path))
    try:
        with engine.connect() as c:
            seen = set()
            for sql, params in [*statements, (window, {"lo": lo, "hi": hi})]:
                if sql in seen:
                    continue
                seen.add(sql)
                plan = [r[0].strip().removeprefix("->  ") for r in c.exec_driver_sql("EXPLAIN " + sql, params).fetchall()]
                keep = [p.split("  (cost")[0] for p in plan if "Scan" in p or "Insert" in p or "Update" in p]
                ctx.explain.append(f"  {sql.split(None, 1)[0].upper():6} → " + "；".join(keep[:4]))
            c.rollback()
    finally:
        engine.dispose()
    with pg_connect(base, path) as conn:
        ctx.window_seconds, ctx.window_count = median_time(lambda: conn.execute(window_sql(q), (lo, hi)).fetchone()[0])
        conn.rollback()
    ctx.next_day, _ = time_sweep(pg_url(base, path), settings, as_of + timedelta(days=1))


# Report ---------------------------------------------------------------------------------------


def print_stats(stats: dict[str, Any], args: argparse.Namespace) -> None:
    state = "待追赶（多数未销号事项停在第 0 级）" if args.state == "catch-up" else "逐日督办至前一日"
    print(f"数据（{state}）：整改事项 {fmt(stats['items'])} 条，未销号 {fmt(stats['open'])} 条（其中已进入升级阶梯 "
          f"{fmt(stats['advanced'])} 条），已有督办通知 {fmt(stats['old_notices'])} 条；"
          f"基准日 {args.as_of} 需处理（next_action_on ≤ 基准日）{fmt(stats['due'])} 条")


def print_pair(r: int, sweep: Run, sql: Run) -> None:
    first = "督办扫描在先" if r % 2 == 0 else "手写 SQL 在先"
    print(f"第 {r + 1} 轮（{first}）：督办扫描 {sweep.seconds:.3f} s（CPU {sweep.cpu:.3f} s，写通知 {fmt(sweep.notices)} 条）｜"
          f"手写 SQL {sql.seconds:.3f} s（CPU {sql.cpu:.3f} s，写通知 {fmt(sql.notices)} 条）", flush=True)


def report(args: argparse.Namespace, sweeps: list[Run], sqls: list[Run], ctx: Context) -> int:
    reference = sqls[0]
    ok = all(r.checksum == reference.checksum and r.by_rung == reference.by_rung for r in [*sweeps, *sqls])
    ok = ok and all(same is not False for _label, _run, same in ctx.variants)
    if ok:
        print(f"结果一致：两种做法写入的通知（按级别 {reference.by_rung}）与整改事项的校验和相同")
    else:
        print("结果不一致！")
        for run in [*sweeps, *sqls, *(v for _l, v, _s in ctx.variants)]:
            print(f"  {run.kind}: 按级别 {run.by_rung} 校验和 {run.checksum}")
    sweep_s = statistics.median(r.seconds for r in sweeps)
    sql_s = statistics.median(r.seconds for r in sqls)
    ratio = sweep_s / sql_s if sql_s else float("inf")
    print(f"中位数（各 {len(sweeps)} 次）：督办扫描 {sweep_s:.3f} s（CPU {statistics.median(r.cpu for r in sweeps):.3f} s），"
          f"手写 SQL {sql_s:.3f} s（CPU {statistics.median(r.cpu for r in sqls):.3f} s），比值 {ratio:.3f}")
    print(f"分解·督办扫描（末轮）：{sweeps[-1].breakdown()}")
    print(f"分解·手写 SQL（末轮）：{sqls[-1].breakdown()}")
    if ctx.explain:
        print("查询计划（督办扫描实际发出的语句，及窗口计数）：")
        for line in ctx.explain:
            print(line)
    print(f"参考：索引上的普通计数（基准日后 20 天内到期的事项）{ctx.window_seconds * 1000:.1f} ms（{fmt(ctx.window_count)} 条）")
    if ctx.next_day is not None:
        print(f"参考：次日（{args.as_of + timedelta(days=1)}）再扫描一次 {ctx.next_day.seconds * 1000:.1f} ms"
              f"（写通知 {fmt(ctx.next_day.notices)} 条；{ctx.next_day.breakdown()}）")
    peak = ctx.peak_mb if ctx.peak_mb is not None else rss_mb()
    verdict = [("耗时", sweep_s <= TARGET_SECONDS, f"≤ {TARGET_SECONDS:g} s"),
               ("比值", ratio <= TARGET_RATIO, f"≤ {TARGET_RATIO:g}"),
               ("峰值内存", peak <= TARGET_RSS_MB, f"≤ {TARGET_RSS_MB:g} MB")]
    print("目标：" + "；".join(f"{name} {goal} {'达标' if good else '未达标'}" for name, good, goal in verdict)
          + f"（峰值常驻内存 {peak:.1f} MB，含导入应用"
          + (f"；连同备选写法为 {rss_mb():.1f} MB" if ctx.peak_mb is not None else "") + "）")
    code = 0 if ok else 1
    if ok and args.strict and not all(good for _n, good, _g in verdict):
        code = 2
    print(f"RATIO {ratio:.3f} SECONDS {sweep_s:.3f} RSS_MB {peak:.2f}", flush=True)
    return code


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="督办扫描（sweep_notices）基准测试")
    p.add_argument("--items", type=int, default=1_000_000, help="整改事项条数（默认 1,000,000）")
    p.add_argument("--runs", type=int, default=3, help="两种做法各运行几次（交替先后，取中位数）")
    p.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF, help="基准日（默认 2026-06-30）")
    p.add_argument("--state", choices=("catch-up", "daily"), default="daily",
                   help="数据状态：catch-up 多数未销号事项停在第 0 级（默认）；daily 已逐日督办至前一日")
    p.add_argument("--postgres", nargs="?", const=DEFAULT_PG, default=None, metavar="URL",
                   help=f"在 PostgreSQL 上运行（默认 {DEFAULT_PG}）")
    p.add_argument("--variants", action="store_true", help="另测几种备选 SQL 写法（仅 SQLite）")
    p.add_argument("--workdir", default=None, help="SQLite 临时文件所在目录（默认系统临时目录）")
    p.add_argument("--strict", action="store_true", help="未达目标时以退出码 2 结束")
    p.add_argument("--generate-sqlite", default=None, help=argparse.SUPPRESS)
    p.add_argument("--ladder", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.items < 1 or args.runs < 1:
        p.error("--items 与 --runs 须为正整数")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.generate_sqlite:  # the child process of bench_sqlite
        ladder = [int(x) for x in args.ladder.split(",")]
        stats = generate_sqlite(Path(args.generate_sqlite), args.items, args.as_of, ladder, args.state)
        print(json.dumps(stats))
        return 0
    settings = Settings(_env_file=None, home=Path(tempfile.gettempdir()) / "bench_sweep_home")
    print(f"== 督办扫描基准：{fmt(args.items)} 条整改事项，基准日 {args.as_of}，"
          f"到期前 {settings.reminder_days_before} 天提醒，逾期 {settings.escalation_offsets_days} 天升级 ==")
    if args.postgres:
        sweeps, sqls, ctx = bench_postgres(args, settings)
    else:
        sweeps, sqls, ctx = bench_sqlite(args, settings)
    return report(args, sweeps, sqls, ctx)


if __name__ == "__main__":
    sys.exit(main())
