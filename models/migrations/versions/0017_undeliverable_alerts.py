"""undeliverable alerts

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-07

An alert's retrying is bounded (#25): `alert.failing_since` holds the first failed send of its
current run of failures, so the relay can tell when to stop and mark it 无法送达. The new
statuses (无法送达, 已处理) need no DDL: statuses are stored as plain strings. Rows already
failing keep retrying and get their first failure stamped at their next failed send.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('failing_since')
