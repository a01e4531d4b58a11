"""The database schema is owned by Alembic (models/migrations). The application refuses to run
on a database whose schema revision is not the one this code expects, and says what to do.
An empty database (the embedded default on first use) is brought to the current revision."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from models.errors import DomainError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
UPGRADE_HINT = ".venv/bin/xuncha db-upgrade"
# Alembic is imported only to upgrade or to explain a mismatch: every flow run is a new process that
# checks the schema once, and loading Alembic and its scripts costs about a second of a busy machine.
_REVISION = re.compile(r"^revision(?:\s*:[^=\n]+)?\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?:\s*:[^=\n]+)?\s*=\s*(?:['\"]([^'\"]+)['\"]|None)", re.M)


class SchemaMismatch(DomainError):
    """The database's schema is not the one this version of the application expects."""


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@lru_cache
def head_revision() -> str:
    """The newest revision of models/migrations/versions, read from the scripts' text (one head;
    tests/infra/test_migrations.py checks it against Alembic's own reading)."""
    revisions, downs = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if (rev := _REVISION.search(source)) is None:
            continue
        revisions.add(rev.group(1))
        if (down := _DOWN.search(source)) is not None and down.group(1):
            downs.add(down.group(1))
    heads = revisions - downs
    assert len(heads) == 1, f"migrations have {len(heads)} heads: {sorted(heads)}"
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_schema(engine: Engine) -> None:
    """Initialise an empty database; refuse one at another revision or without one."""
    head = head_revision()
    current = current_revision(engine)
    if current == head:
        return
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    if current is None and not tables:
        try:
            upgrade(engine)
        except Exception:  # another process initialised it first
            if current_revision(engine) != head:
                raise
        return
    url = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaMismatch(f"数据库 {url} 中已有数据表，但没有结构版本记录（可能由早期版本创建），程序不能确认其结构。"
                             "请备份后清空该数据库重新初始化，或由管理员用 alembic stamp 标记其版本。")
    from alembic.script import ScriptDirectory

    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current in known:
        raise SchemaMismatch(f"数据库 {url} 的结构版本为 {current}，本程序需要 {head}。请先备份数据库，再运行：{UPGRADE_HINT}")
    raise SchemaMismatch(f"数据库 {url} 的结构版本 {current} 比本程序新（本程序为 {head}），请升级程序后再运行。")
