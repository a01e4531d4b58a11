"""The database schema is owned by Alembic (models/migrations). The application refuses to run
on a database whose schema revision is not the one this code expects, and says what to do.
An empty database (the embedded default on first use) is brought to the current revision."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from models.errors import DomainError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
UPGRADE_HINT = ".venv/bin/xuncha db-upgrade"


class SchemaMismatch(DomainError):
    """The database's schema is not the one this version of the application expects."""


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
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
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current in known:
        raise SchemaMismatch(f"数据库 {url} 的结构版本为 {current}，本程序需要 {head}。请先备份数据库，再运行：{UPGRADE_HINT}")
    raise SchemaMismatch(f"数据库 {url} 的结构版本 {current} 比本程序新（本程序为 {head}），请升级程序后再运行。")
