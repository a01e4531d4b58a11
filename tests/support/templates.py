"""Databases built once per test process and copied for each test.

Building the schema (`create_all` of every table), loading the demo county and running the
Alembic migrations cost a good part of a second each; copying a finished SQLite file costs a
millisecond, and a PostgreSQL database made from a template database a fraction of a second.
So each is built once, in a home of its own, and every test gets a copy of that home (the
database and whatever the build left beside it: keys, an audit-chain head file), exactly as it
would have been had the test built it itself:

- `schema`: the tables as `SQLModel.metadata.create_all` makes them (the `session` fixture's);
- `demo`: the same with the demo county loaded (the `demo_org` fixture's);
- `migrated`: the tables as the Alembic migrations make them, at the head revision (what the CLI's
  first `get_engine()` makes of an empty home: the `cli_home` fixture's).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from models.db import make_engine
from models.schema import upgrade
from models.settings import PROJECT_ROOT, get_settings

DEMO_ORG = PROJECT_ROOT / "deployments" / "demo" / "county.yaml"
KINDS = ("schema", "demo")
MIGRATE = upgrade  # the real migrations, whatever a fixture later puts in models.schema.upgrade


def _load_demo(session: Session) -> None:
    from tasks.planning.org import load_org, read_org_file

    load_org(session=session, data=read_org_file(DEMO_ORG))
    session.commit()


def _build(engine: Engine, kind: str) -> None:
    SQLModel.metadata.create_all(engine)
    if kind == "demo":
        with Session(engine) as s:
            _load_demo(s)


@dataclass
class Templates:
    """The template homes of this process (one folder each), built on first use."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="xuncha-templates-")))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sqlite: dict[str, Path] = field(default_factory=dict)
    _pg: dict[str, tuple[str, Path]] = field(default_factory=dict)

    def _as_home(self, home: Path, env: dict[str, str]) -> pytest.MonkeyPatch:
        """The global settings pointed at a template's home while it is built, as a test's are at
        its own (code under the load that reads get_settings() writes there, not elsewhere)."""
        mp = pytest.MonkeyPatch()
        for name in [n for n in os.environ if n.startswith("XUNCHA_")]:
            mp.delenv(name)
        for name, value in env.items():
            mp.setenv(name, value)
        get_settings.cache_clear()
        return mp

    def sqlite_home(self, kind: str) -> Path:
        """A home holding xuncha.db of this kind (KINDS, or "migrated")."""
        with self._lock:
            if kind not in self._sqlite:
                home = self.root / f"sqlite-{kind}"
                home.mkdir()
                mp = self._as_home(home, {"XUNCHA_HOME": str(home)})
                try:
                    engine = make_engine(f"sqlite:///{home / 'xuncha.db'}")
                    if kind == "migrated":
                        MIGRATE(engine)
                    else:
                        _build(engine, kind)
                    engine.dispose()  # the last connection checkpoints the WAL into the file
                finally:
                    mp.undo()
                    get_settings.cache_clear()
                self._sqlite[kind] = home
            return self._sqlite[kind]

    def copy_sqlite(self, kind: str, home: Path) -> None:
        """`home` becomes a copy of the template home of this kind."""
        shutil.copytree(self.sqlite_home(kind), home, dirs_exist_ok=True)

    def pg_template(self, kind: str, server: str) -> tuple[str, Path]:
        """The name of a template database of this kind on `server`, and the home it was built in."""
        with self._lock:
            if kind not in self._pg:
                name = f"xuncha_tpl_{os.getpid()}_{kind}"
                home = self.root / f"pg-{kind}"
                home.mkdir()
                admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                mp = self._as_home(home, {"XUNCHA_HOME": str(home), "XUNCHA_AUDIT_HEAD_FILE": str(home / "audit-head"),
                                          "XUNCHA_DATABASE_URL": f"{server}/{name}"})
                try:
                    engine = make_engine(f"{server}/{name}")
                    _build(engine, kind)
                    engine.dispose()
                finally:
                    mp.undo()
                    get_settings.cache_clear()
                with admin.connect() as conn:  # no one may connect to it now but to copy it
                    conn.execute(text(f"ALTER DATABASE \"{name}\" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"))
                admin.dispose()
                self._pg[kind] = (name, home)
            return self._pg[kind]

    def copy_pg(self, kind: str, server: str, database: str, home: Path) -> None:
        """Database `database` on `server` (dropped first) becomes a copy of the template of this
        kind, and `home` a copy of the home it was built in."""
        template, built_in = self.pg_template(kind, server)
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{database}" TEMPLATE "{template}"'))
        finally:
            admin.dispose()
        shutil.copytree(built_in, home, dirs_exist_ok=True)

    def drop_pg(self, server: str) -> None:
        if not self._pg:
            return
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with admin.connect() as conn:
            for name, _ in self._pg.values():
                conn.execute(text(f"ALTER DATABASE \"{name}\" WITH IS_TEMPLATE false"))
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        self._pg.clear()

    def migrate_empty(self, engine: Engine) -> bool:
        """Bring an empty SQLite file to the head revision by copying the migrated template into
        it (SQLite's backup API); False when `engine` is not that (the migrations then run)."""
        url = engine.url
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return False
        source = sqlite3.connect(self.sqlite_home("migrated") / "xuncha.db")
        try:
            with engine.connect() as conn:
                target = conn.connection.driver_connection
                assert isinstance(target, sqlite3.Connection)
                if target.execute("SELECT count(*) FROM sqlite_master").fetchone() != (0,):
                    return False
                source.backup(target)
        finally:
            source.close()
        return True


TEMPLATES = Templates()
