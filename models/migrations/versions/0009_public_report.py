"""public reporting page

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

The public reporting page (网络举报, #15): each report's query code, kept only as its keyed hash
(public_report, one row per petition sent through the page), and the requests counted by its
rate limits (public_hit: a keyed hash of the client's address and the time, pruned after the
window). Nothing existing changes.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'public_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', S(length=64), nullable=False),
        sa.ForeignKeyConstraint(['petition_id'], ['petition.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('petition_id'),
        sa.UniqueConstraint('code_hash'),
    )
    op.create_table(
        'public_hit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', S(length=20), nullable=False),
        sa.Column('client', S(length=64), nullable=False),
        sa.Column('at', TZ, nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('public_hit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_hit_client'), ['client'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_hit_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('public_hit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_hit_at'))
        batch_op.drop_index(batch_op.f('ix_public_hit_client'))
    op.drop_table('public_hit')
    op.drop_table('public_report')
