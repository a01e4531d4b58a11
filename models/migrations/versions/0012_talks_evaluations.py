"""talk plans, talk records and evaluation results

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

Stationing's individual talks (谈话安排, 谈话记录: the person talked to, the reason and the
record's text stored only encrypted) and the democratic evaluation and questionnaire results
imported from the office's sheets (#27). Nothing existing changes.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'talk_plan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('inspection_id', sa.Integer(), nullable=False),
        sa.Column('talker', S(length=50), nullable=False),
        sa.Column('planned_on', sa.Date(), nullable=False),
        sa.Column('person_enc', sa.Text(), nullable=False),
        sa.Column('purpose_enc', sa.Text(), nullable=False),
        sa.Column('created_by', S(length=50), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('talk_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_talk_plan_inspection_id'), ['inspection_id'], unique=False)
    op.create_table(
        'talk_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('inspection_id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=True),
        sa.Column('talker', S(length=50), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('person_enc', sa.Text(), nullable=False),
        sa.Column('content_enc', sa.Text(), nullable=False),
        sa.Column('recorded_by', S(length=50), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id']),
        sa.ForeignKeyConstraint(['plan_id'], ['talk_plan.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('plan_id'),
    )
    with op.batch_alter_table('talk_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_talk_record_inspection_id'), ['inspection_id'], unique=False)
    op.create_table(
        'evaluation_result',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('inspection_id', sa.Integer(), nullable=False),
        sa.Column('kind', S(length=20), nullable=False),
        sa.Column('item', S(length=200), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=True),
        sa.Column('respondents', sa.Integer(), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('imported_by', S(length=50), nullable=False),
        sa.Column('imported_at', TZ, nullable=False),
        sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('inspection_id', 'kind', 'item'),
    )
    with op.batch_alter_table('evaluation_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_result_inspection_id'), ['inspection_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('evaluation_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_result_inspection_id'))
    op.drop_table('evaluation_result')
    with op.batch_alter_table('talk_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_talk_record_inspection_id'))
    op.drop_table('talk_record')
    with op.batch_alter_table('talk_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_talk_plan_inspection_id'))
    op.drop_table('talk_plan')
