"""term plan

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Term plan and planned units (#5), unit priority, former-unit end year, composition
exclusions on a round, and approvals of a term plan (no round yet).
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('term_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('first_year', sa.Integer(), nullable=False),
    sa.Column('last_year', sa.Integer(), nullable=False),
    sa.Column('rounds_per_year', sa.Integer(), nullable=False),
    sa.Column('units_per_round', sa.Integer(), nullable=False),
    sa.Column('mix', sa.JSON(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('planned_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('term_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['term_id'], ['term_plan.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('term_id', 'unit_id')
    )
    with op.batch_alter_table('planned_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_planned_unit_term_id'), ['term_id'], unique=False)

    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.add_column(sa.Column('term_id', sa.Integer(), nullable=True))
        batch_op.alter_column('round_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_foreign_key('fk_approval_term_id_term_plan', 'term_plan', ['term_id'], ['id'])

    with op.batch_alter_table('conflict', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_year', sa.Integer(), nullable=True))

    with op.batch_alter_table('inspection_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exclusions', sa.JSON(), nullable=True))

    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))



def downgrade() -> None:
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('priority')

    with op.batch_alter_table('inspection_round', schema=None) as batch_op:
        batch_op.drop_column('exclusions')

    with op.batch_alter_table('conflict', schema=None) as batch_op:
        batch_op.drop_column('ended_year')

    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.drop_constraint('fk_approval_term_id_term_plan', type_='foreignkey')
        batch_op.alter_column('round_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('term_id')

    with op.batch_alter_table('planned_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_planned_unit_term_id'))

    op.drop_table('planned_unit')
    op.drop_table('term_plan')
