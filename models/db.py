"""Engine and sessions, built on first use (never at import)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Table, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection, CursorResult, Engine, Result
from sqlmodel import Session, SQLModel, create_engine

import models.indicator_tables  # noqa: F401  (registers the indicator tables)
import models.results_use  # noqa: F401  (registers the results-use tables)
import models.tables  # noqa: F401  (registers the tables)
from models.errors import NotFound
from models.schema import ensure_schema
from models.settings import get_settings

T = TypeVar("T")
READ_ONLY = "xuncha_read_only"  # execution option of a read-only session's connection


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" below open transactions, not the driver.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Connection) -> None:
            # A deferred transaction that reads and then writes fails at once with "database
            # is locked" when another writer got there first (no busy wait is possible).
            # Taking the write lock at BEGIN makes writers queue on busy_timeout instead.
            # A read-only session (session_scope(read_only=True)) never writes: it begins
            # deferred, reads one snapshot (WAL) and waits for no writer.
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def open_engine(url: str) -> Engine:
    """An engine on `url`, creating the SQLite file's folder; the schema is not checked."""
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return make_engine(url)


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    engine = open_engine(url or get_settings().db_url)
    ensure_schema(engine)  # an empty database is initialised; a mismatched one is refused
    return engine


@contextmanager
def session_scope(engine: Engine | None = None, *, read_only: bool = False) -> Iterator[Session]:
    """A session that commits on success and rolls back everything on error.

    `read_only`: for reads that write nothing — on SQLite the transaction does not take the write
    lock (ten unit runs reading their state at once no longer queue behind each other's writes);
    it is rolled back at the end, and a change made in it is a programming error."""
    with Session(engine or get_engine()) as session:
        if read_only:
            session.connection(execution_options={READ_ONLY: True})
        try:
            yield session
            if read_only:
                if session.new or session.dirty or session.deleted:
                    raise RuntimeError("只读会话中不应修改数据")
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise


# Ids are 64-bit integers in both databases: a larger number names no record (SQLite would raise
# OverflowError binding it, which reached people as a 500).
MAX_ID = 2**63 - 1


def record_id(value: object, what: str = "编号") -> int:
    """A record id typed by a person (an address, a form, a command line): NotFound in Chinese
    unless it is a whole number from 1 to MAX_ID."""
    text = str(value).strip()
    if not text.isdecimal() or not text.isascii() or len(text) > 19 or not 1 <= int(text) <= MAX_ID:
        raise NotFound(f"{what}“{text[:30]}”不存在：编号应为1至{MAX_ID}之间的整数")
    return int(text)


def get_or_raise(session: Session, model: type[T], key: int, what: str, **options: Any) -> T:
    """The row of `model` with this id, or NotFound "<what>不存在：<id>" (options as for session.get)."""
    if not 0 < key <= MAX_ID:
        raise NotFound(f"{what}不存在：{key}")
    row = session.get(model, key, **options)
    if row is None:
        raise NotFound(f"{what}不存在：{key}")
    return row


def table_of(model: type[SQLModel]) -> Table:
    """The model's Table, for set-based statements (SQLModel leaves `__table__` untyped)."""
    mapper = sa_inspect(model)
    assert mapper is not None
    table = mapper.local_table
    assert isinstance(table, Table)
    return table


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed. SQLAlchemy types `execute()` as a Result;
    for these statements it is a CursorResult, which counts them."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
