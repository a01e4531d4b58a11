"""health-check indicators guiding stationing

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

The office's indicator library (indicator), what a team examined per unit with which methods and
findings (indicator_check), and the reason given for gaps at 巡察组提交报告 (coverage_gap); #27.
Nothing existing changes: without indicators the report gate asks nothing new.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'indicator',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', S(length=100), nullable=False),
        sa.Column('category', S(length=50), nullable=False),
        sa.Column('symptoms', S(length=2000), nullable=False),
        sa.Column('how', S(length=2000), nullable=False),
        sa.Column('requirement', S(length=2000), nullable=False),
        sa.Column('unit_kinds', sa.JSON(), nullable=True),
        sa.Column('sample', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('updated_at', TZ, nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'indicator_check',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('inspection_id', sa.Integer(), nullable=False),
        sa.Column('indicator_id', sa.Integer(), nullable=False),
        sa.Column('methods', sa.JSON(), nullable=True),
        sa.Column('finding_ids', sa.JSON(), nullable=True),
        sa.Column('note', S(length=2000), nullable=False),
        sa.Column('recorded_by', S(length=50), nullable=False),
        sa.Column('recorded_at', TZ, nullable=False),
        sa.ForeignKeyConstraint(['indicator_id'], ['indicator.id']),
        sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('inspection_id', 'indicator_id'),
    )
    with op.batch_alter_table('indicator_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicator_check_inspection_id'), ['inspection_id'], unique=False)
    op.create_table(
        'coverage_gap',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('inspection_id', sa.Integer(), nullable=False),
        sa.Column('search_count', sa.Integer(), nullable=False),
        sa.Column('missing_indicators', sa.JSON(), nullable=True),
        sa.Column('missing_methods', sa.JSON(), nullable=True),
        sa.Column('reason', S(length=2000), nullable=False),
        sa.Column('by', S(length=50), nullable=False),
        sa.Column('at', TZ, nullable=False),
        sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('inspection_id', 'search_count'),
    )
    with op.batch_alter_table('coverage_gap', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coverage_gap_inspection_id'), ['inspection_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('coverage_gap', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coverage_gap_inspection_id'))
    op.drop_table('coverage_gap')
    with op.batch_alter_table('indicator_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indicator_check_inspection_id'))
    op.drop_table('indicator_check')
    op.drop_table('indicator')
