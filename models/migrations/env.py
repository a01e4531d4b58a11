"""Alembic environment: the application's tables (models/tables.py) on the engine given by the
caller (models/schema.py passes its connection), or on settings.db_url from the alembic CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import models.indicator_tables  # noqa: F401  (registers the indicator tables)
import models.results_use  # noqa: F401  (registers the results-use tables)
import models.tables  # noqa: F401  (registers the tables)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from models.db import make_engine
        from models.settings import get_settings

        with make_engine(get_settings().db_url).connect() as conn:
            _run(conn)
            conn.commit()
        return
    _run(connection)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
