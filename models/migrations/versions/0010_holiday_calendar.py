"""holiday calendar as office data

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

The State Council's holidays and adjusted working days (调休) of a year, entered by the office
(holiday_year, one row per year; #25), and the deadlines counted in working days across a year
the calendar did not know yet (provisional_deadline), so entering the year recomputes them.
Nothing existing changes: the office's holidays.yaml, if any, is still read.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'holiday_year',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('festivals', sa.JSON(), nullable=True),
        sa.Column('entered_by', S(length=50), nullable=False),
        sa.Column('entered_at', TZ, nullable=False),
        sa.PrimaryKeyConstraint('year'),
    )
    op.create_table(
        'provisional_deadline',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entity', S(length=40), nullable=False),
        sa.Column('entity_id', sa.Integer(), nullable=False),
        sa.Column('column', S(length=40), nullable=False),
        sa.Column('start', sa.Date(), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('due', sa.Date(), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('entity', 'entity_id', 'column'),
    )
    with op.batch_alter_table('provisional_deadline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provisional_deadline_entity_id'), ['entity_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('provisional_deadline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provisional_deadline_entity_id'))
    op.drop_table('provisional_deadline')
    op.drop_table('holiday_year')
