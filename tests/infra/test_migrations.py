"""The schema belongs to Alembic: migrations build exactly the tables the code declares, on
SQLite and PostgreSQL, and the application refuses a database at another revision."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel
from typer.testing import CliRunner

from deployments.cli.main import app
from models.db import get_engine, make_engine
from models.schema import SchemaMismatch, current_revision, ensure_schema, head_revision, upgrade

# PostgreSQL as well (`both_databases`) only where behaviour differs by database, marked per test
# with the reason. Migrations emit DDL per dialect: every test runs on both, but the command-line
# test, which runs the CLI on its own SQLite home (cli_home) whatever the backend.


@pytest.fixture
def empty(db_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Engine:
    if db_backend == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    engine = make_engine(request.getfixturevalue("pg_database"))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    return engine


@pytest.mark.both_databases
def test_migrations_build_the_declared_schema(empty: Engine) -> None:
    ensure_schema(empty)  # an empty database is initialised
    assert current_revision(empty) == head_revision()
    with empty.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata) == []
    ensure_schema(empty)  # and a current one left alone


@pytest.mark.both_databases
def test_a_database_without_a_revision_is_refused(empty: Engine) -> None:
    SQLModel.metadata.create_all(empty)
    with pytest.raises(SchemaMismatch, match="已有数据表，但没有结构版本记录"):
        ensure_schema(empty)


@pytest.mark.both_databases
def test_an_older_revision_is_refused_then_upgraded_keeping_the_data(empty: Engine) -> None:
    upgrade(empty, "0001")  # a database of the previous release, with data in it
    with empty.begin() as conn:
        conn.execute(text("INSERT INTO account (name, role, active, created_at) VALUES ('陶文华', '巡察办', true, '2026-11-01')"))
    # The instruction works as typed in a fresh shell (the console command set-up installs).
    with pytest.raises(SchemaMismatch, match=re.escape(f"结构版本为 0001，本程序需要 {head_revision()}。请先备份数据库，再运行：.venv/bin/xuncha db-upgrade")):
        ensure_schema(empty)
    upgrade(empty)
    ensure_schema(empty)
    with empty.connect() as conn:
        assert conn.execute(text("SELECT name FROM account")).scalars().all() == ["陶文华"]
        assert conn.execute(text("SELECT count(*) FROM run_recovery")).scalar() == 0


@pytest.mark.both_databases
def test_a_newer_revision_is_refused(empty: Engine) -> None:
    upgrade(empty)
    with empty.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaMismatch, match="结构版本 9999 比本程序新"):
        ensure_schema(empty)


def test_db_commands(cli_home: Path) -> None:
    runner = CliRunner()
    status = runner.invoke(app, ["db-status"])
    assert status.exit_code == 1 and "（未初始化）" in status.output
    up = runner.invoke(app, ["db-upgrade"])
    assert up.exit_code == 0 and f"→ {head_revision()}" in up.output
    assert runner.invoke(app, ["db-status"]).exit_code == 0
    get_engine()  # the application starts on it


def insert_inspection(conn: Connection, stage: str) -> None:
    """Inspection 1 of 城东街道 in round 1, team 1, at `stage`, in the columns every revision has."""
    conn.execute(text("INSERT INTO unit (id, name, kind, area, secretary_name, secretary_contact, priority) "
                      "VALUES (1, '城东街道', '乡镇街道', '', '', '', 0)"))
    conn.execute(text("INSERT INTO inspection_round (id, name, kind, start_date, end_date, status, created_at) "
                      "VALUES (1, '2026年第一轮巡察', '常规巡察', '2026-12-01', '2026-12-31', '进行中', '2026-11-01')"))
    conn.execute(text("INSERT INTO team (id, round_id, name) VALUES (1, 1, '第一巡察组')"))
    conn.execute(text("INSERT INTO inspection (id, round_id, unit_id, team_id, stage, search_count) "
                      "VALUES (1, 1, 1, 1, :stage, 1)"), {"stage": stage})


@pytest.mark.both_databases
def test_0005_hashes_existing_findings_keeping_old_duplicates(empty: Engine) -> None:
    """Findings stored twice by the old importer stay (nothing is deleted), the repeat without a
    hash; after the upgrade the same finding cannot be stored again."""
    from sqlalchemy.exc import IntegrityError

    from tasks.lifecycle.findings import finding_hash

    upgrade(empty, "0004")
    with empty.begin() as conn:
        insert_inspection(conn, "集中巡察")
        for fid, description in ((1, "公务接待超标准"), (2, " 公务接待超标准 "), (3, "党费收缴不及时")):
            conn.execute(text("INSERT INTO finding (id, inspection_id, category, description, evidence, scope, fixed_on_site, "
                              "search_count, created_at) VALUES (:id, 1, '全面从严治党', :d, '', '个性问题', false, 1, "
                              "'2026-12-02')"), {"id": fid, "d": description})
    upgrade(empty)
    with empty.connect() as conn:
        hashes = dict(conn.execute(text("SELECT id, content_hash FROM finding ORDER BY id")).all())
    assert hashes == {1: finding_hash("全面从严治党", "公务接待超标准"), 2: None, 3: finding_hash("全面从严治党", "党费收缴不及时")}
    with pytest.raises(IntegrityError), empty.begin() as conn:
        conn.execute(text("INSERT INTO finding (inspection_id, category, description, evidence, scope, fixed_on_site, "
                          "search_count, created_at, content_hash) VALUES (1, '全面从严治党', '公务接待超标准', '', '个性问题', "
                          "false, 1, '2026-12-03', :h)"), {"h": hashes[1]})


@pytest.mark.both_databases
def test_0008_erases_the_codes_earlier_releases_kept_in_the_outbox(empty: Engine) -> None:
    upgrade(empty, "0005")
    bodies = {1: "城东街道：“报告审议”等待您办理（第1次）。\n验证码：123456（72小时内有效）\n\n查看与办理：http://x",
              2: "您有1件新移交线索（移交函编号3），请签收。\n签收码：654321（签收时填写）",
              3: "整改事项到期提醒：共3项，编号123456"}
    with empty.begin() as conn:
        for aid, body in bodies.items():
            conn.execute(text("INSERT INTO alert (id, dedupe_key, role, channel, recipient, title, body, link, status, "
                              "attempts, last_error, next_attempt_at, created_at) VALUES (:id, :k, 'office', '', '', 't', "
                              ":b, '', 'sent', 1, '', '2026-12-01', '2026-12-01')"), {"id": aid, "k": f"k{aid}", "b": body})
    upgrade(empty)
    with empty.connect() as conn:
        after = dict(conn.execute(text("SELECT id, body FROM alert ORDER BY id")).all())
        assert set(conn.execute(text("SELECT secret FROM alert")).scalars()) == {""}
    assert "123456" not in after[1] and "验证码：（已删除）（72小时内有效）" in after[1]
    assert "654321" not in after[2] and "签收码：（已删除）" in after[2]
    assert after[3] == bodies[3]  # a number that is no code stays
@pytest.mark.both_databases
def test_0006_links_findings_to_their_items_common_problem(empty: Engine) -> None:
    """A finding takes the common problem of its item; a common problem confirmed before the
    upgrade stays under supervision (督办中) with its first letter."""
    upgrade(empty, "0005")
    with empty.begin() as conn:
        insert_inspection(conn, "督促整改")
        conn.execute(text("INSERT INTO common_problem (id, round_id, category, title, leader_in_charge, departments, "
                          "confirmed_by, created_at) VALUES (1, 1, '选人用人', '干部档案管理不规范', '吴志刚', '[]', '陶文华', "
                          "'2026-12-10')"))
        for fid, scope in ((1, "共性问题"), (2, "个性问题")):
            conn.execute(text("INSERT INTO finding (id, inspection_id, category, description, evidence, scope, fixed_on_site, "
                              "search_count, created_at) VALUES (:id, 1, '选人用人', :d, '', :s, false, 1, '2026-12-02')"),
                         {"id": fid, "d": f"问题{fid}", "s": scope})
            conn.execute(text("INSERT INTO rectification_item (inspection_id, finding_id, measure, owner, deadline, status, "
                              "supervisor, supervise_every_days, evidence, rules_made, common_problem_id, next_rung, ladder_cycle) "
                              "VALUES (1, :id, '', '', '2027-02-01', '未开始', '', 30, '', 0, :cp, 0, 0)"),
                         {"id": fid, "cp": 1 if fid == 1 else None})
    upgrade(empty)
    with empty.connect() as conn:
        assert dict(conn.execute(text("SELECT id, common_problem_id FROM finding ORDER BY id")).all()) == {1: 1, 2: None}
        assert conn.execute(text("SELECT status, closed_by, letter_version FROM common_problem")).one() == ("督办中", "", 1)
        assert conn.execute(text("SELECT count(*) FROM common_grouping")).scalar() == 0


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    """models/schema.py reads the head revision from the scripts' text (a flow run's process does
    not load Alembic); it must be the head Alembic itself finds."""
    from alembic.script import ScriptDirectory

    from models.schema import alembic_config

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
