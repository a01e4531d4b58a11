"""Fixtures: a temporary application database for fast tests; the session's inbox. The real
Prefect stack the end-to-end tests drive is in tests/e2e/conftest.py."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from deployments.ops.inbox import Inbox
from deployments.ops.stack import free_port
from models import schema
from models.clock import CHINA
from models.db import get_engine, make_engine
from models.settings import PROJECT_ROOT, Settings, get_settings
from tasks.planning.org import load_org, read_org_file
from tests.support.templates import TEMPLATES

ROOT = Path(__file__).resolve().parents[1]

DEMO_ORG = PROJECT_ROOT / "deployments" / "demo" / "county.yaml"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=CHINA)
HOUR = timedelta(hours=1)
# The run link a unit test's alerts carry (under the `settings` fixture's ui_url).
LINK = "http://127.0.0.1:4200/runs"
DEMO_LOADED = "demo_loaded"  # session.info: the test database already holds the demo county


# `xuncha login` keeps its token per OS user (~/.config/xuncha): never the real one in a test run.
os.environ.setdefault("XUNCHA_CLI_SESSION_DIR", tempfile.mkdtemp(prefix="xuncha-cli-session-"))
PG_SERVER = os.environ.get("XUNCHA_TEST_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
# XUNCHA_TEST_CRYPTO_PROFILE=gm runs the unit tests under the 国密 profile (models/crypto.py);
# tests/infra/test_crypto_profile.py runs the key crypto tests under both profiles anyway.
TEST_CRYPTO_PROFILE = os.environ.get("XUNCHA_TEST_CRYPTO_PROFILE", "")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests in modules marked `both_databases` run on SQLite and on the machine's PostgreSQL."""
    if "db_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`-n 2 --dist loadfile --no-loadscope-reorder`, scripts/test.sh) files go to
    the workers in collection order: the end-to-end files first, so that neither worker is left alone
    with a long one at the end. Among themselves they keep their order, as in a run in one process:
    the rounds one file leaves on its worker's stack may hold people a later file's round needs."""
    items.sort(key=lambda item: "e2e" not in item.path.parts)  # stable


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of its own on the local PostgreSQL for this test session, dropped at the end.
    The `session` fixture makes it afresh for each test from a template database (built once)."""
    from sqlalchemy import create_engine, text

    name = f"xuncha_test_{os.getpid()}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - say what is missing, not a driver trace
        pytest.fail(f"PostgreSQL at {PG_SERVER} is needed for these tests: {exc}")
    admin.dispose()
    yield f"{PG_SERVER}/{name}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    TEMPLATES.drop_pg(PG_SERVER)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_backend: str, request: pytest.FixtureRequest) -> Settings:
    # Unit tests must not see the environment the session's Prefect stack exported.
    for name in [n for n in os.environ if n.startswith("XUNCHA_")]:
        monkeypatch.delenv(name)
    # Code that reads the global settings (the audit chain's key and head) keeps to this home too.
    monkeypatch.setenv("XUNCHA_HOME", str(tmp_path / "home"))
    # `xuncha login` keeps its token per OS user; a test's login stays in the test's folder.
    monkeypatch.setenv("XUNCHA_CLI_SESSION_DIR", str(tmp_path / "cli-session"))
    get_settings.cache_clear()
    url = ""
    if db_backend == "postgresql":
        url = request.getfixturevalue("pg_database")
        # The audit head of a server database lives under the global settings' home.
        monkeypatch.setenv("XUNCHA_AUDIT_HEAD_FILE", str(tmp_path / "home" / "audit-head"))
        get_settings.cache_clear()
    if TEST_CRYPTO_PROFILE:
        monkeypatch.setenv("XUNCHA_CRYPTO_PROFILE", TEST_CRYPTO_PROFILE)
        get_settings.cache_clear()
        return Settings(home=tmp_path / "home", ui_url="http://127.0.0.1:4200", database_url=url, _env_file=None,
                        crypto_profile=TEST_CRYPTO_PROFILE)
    return Settings(home=tmp_path / "home", ui_url="http://127.0.0.1:4200", database_url=url, _env_file=None)


@pytest.fixture
def session(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Session]:
    """The test's database with the schema (made by create_all), empty; with the demo county
    loaded when the test uses `demo_org`. Each is built once per process and copied
    (tests/support/templates.py): a SQLite file, or a PostgreSQL database made from a template."""
    kind = "demo" if "demo_org" in request.fixturenames else "schema"
    if settings.database_url:
        TEMPLATES.copy_pg(kind, PG_SERVER, settings.database_url.rsplit("/", 1)[1], settings.home)
    else:
        TEMPLATES.copy_sqlite(kind, settings.home)
    engine = make_engine(settings.db_url)
    with Session(engine) as s:
        s.info[DEMO_LOADED] = kind == "demo"
        yield s
    engine.dispose()
    get_settings.cache_clear()


@pytest.fixture
def cli_home(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI's data home for one test (after `settings` has cleared the environment)."""
    home = tmp_path / "cli-home"
    monkeypatch.setenv("XUNCHA_HOME", str(home))
    monkeypatch.delenv("XUNCHA_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    # The CLI's first get_engine() migrates the empty database: to the copy of a database the
    # migrations made once (tests/support/templates.py); anything else still runs them.
    real_upgrade = schema.upgrade

    def upgrade(engine: Engine, revision: str = "head") -> None:
        if revision != "head" or not TEMPLATES.migrate_empty(engine):
            real_upgrade(engine, revision)

    monkeypatch.setattr(schema, "upgrade", upgrade)
    yield home
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def demo_org(session: Session) -> Session:
    """The demo county loaded into the test database (the `session` fixture copied it in, unless
    this fixture was asked for by name during the test)."""
    if not session.info.get(DEMO_LOADED):
        load_org(session=session, data=read_org_file(DEMO_ORG))
        session.commit()
        session.info[DEMO_LOADED] = True
    return session


@pytest.fixture(scope="session")
def inbox() -> Iterator[Inbox]:
    box = Inbox(port=free_port()).start()
    yield box
    box.stop()
