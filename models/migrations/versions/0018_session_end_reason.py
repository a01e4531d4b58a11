"""session end reason

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

A login session ended for idleness (or at its age limit) says so on every later request, not only
on the first one after the end: `login_session.end_reason` keeps why it ended (the gateway now
persists the end of an idle session, so a later request used to read it as a logout). Sessions
ended before this revision keep an empty reason and read as logged out, as before.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('end_reason', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_column('end_reason')
