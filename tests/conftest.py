"""Fixtures: a temporary application database for fast tests, and one real Prefect stack
(server, deployments, process worker) per test session for the end-to-end tests."""

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
from deployments.ops.stack import Stack, free_port
from models import schema
from models.clock import CHINA
from models.db import get_engine, make_engine
from models.settings import PROJECT_ROOT, Settings, get_settings
from tasks.planning.org import load_org, read_org_file
from tests.support.stacks import exported, load_county_without_contacts
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
    admin.dispose()  # tests/e2e/test_scale_out.py restarts PostgreSQL: connect afresh to clean up
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


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[Stack]:
    """A real Prefect server on a free port, the deployments of prefect.yaml and one worker.

    Every recipient of the demo county is pointed at the session's inbox, so the alerts the
    flows send travel over HTTP to a real receiver on 127.0.0.1.
    """
    home = tmp_path_factory.mktemp("stack")
    # As `up` does: the inbox keeps home/inbox.jsonl, where `xuncha inbox` and the tests read the
    # codes the receivers got (a sent alert keeps none: tests/support/factories.py sent_code).
    inbox.path = home / "inbox.jsonl"
    recipients = {role: [f"json://127.0.0.1:{inbox.port}/{role}"] for role in (
        "office", "leading_group", "team_leader", "unit_secretary", "liaison_leader",
        "discipline_commission", "organisation_department", "responsible_department", "functional_department",
        "leader_in_charge")}
    import json

    # Exactly what `up` runs: Prefect's data on the private PostgreSQL the stack starts under its
    # data folder (deployments/ops/private_pg.py), the application's on SQLite, one worker, the relay.
    st = Stack(home=home, port=free_port(), extra_env={
        "XUNCHA_RECIPIENTS": json.dumps(recipients),
        # tests/e2e/test_restart.py kills the worker while 集中巡察 of 马岙村 is in the middle of its work.
        "XUNCHA_FAULT_HOLD": "集中巡察:马岙村:600",
        # ... through the test plumbing's fault hook (tests/support/faults.py), loaded at start-up.
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "tests" / "support" / "inject"), str(ROOT),
                                                  os.environ.get("PYTHONPATH", "")) if p),
        "XUNCHA_ZOMBIE_SECONDS": "90",  # a silent run is taken for dead sooner than the 5-minute default
        "XUNCHA_HOUSEKEEPING_SECONDS": "5",  # the relay reminds, starts and recovers every 5 s
        # The tests pose as browsers behind an HTTPS front on loopback (X-Forwarded-For believed from
        # 127.0.0.1 only); the gateway's waits start at 1 s and five failures lock, so the attacker
        # tests (tests/e2e/test_gateway_stack.py, test_browser.py) run in seconds.
        "XUNCHA_TRUSTED_PROXIES": '["127.0.0.1"]',
        "XUNCHA_LOGIN_DELAY_SECONDS": "1",
        "XUNCHA_LOGIN_MAX_FAILURES": "5",
    })
    with exported(st):
        try:
            st.start_server()
            st.deploy()
            st.start_worker()
            st.start_relay()
            load_county_without_contacts(DEMO_ORG)  # every alert to the role inbox above
            yield st
        finally:
            st.stop()
