"""results letters and their use (巡察成果运用)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

At feedback each unit's results letter (巡察成果运用函) goes to the organisation department, and
to the discipline commission where the unit has clues for it (results_letter, one per unit and
receiver); the receiver signs for it and records each use (results_use). Nothing existing changes.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
TZ = sa.DateTime(timezone=True)
LETTER_STATUS = sa.Enum('待签收', '运用中', '已办结', name='resultsletterstatus', native_enum=False, length=32)
USE_KIND = sa.Enum('干部考核评价', '选拔任用', '提醒谈话', '诫勉谈话', '年度考核', '党建考核', '党风廉政建设责任制考核',
                   '党建工作述职评议', '其他', name='usekind', native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        'results_letter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('inspection_id', sa.Integer(), nullable=False),
        sa.Column('receiver', S(length=40), nullable=False),
        sa.Column('doc_no', S(length=80), nullable=False),
        sa.Column('finding_ids', sa.JSON(), nullable=True),
        sa.Column('status', LETTER_STATUS, nullable=False),
        sa.Column('sent_at', TZ, nullable=False),
        sa.Column('ack_due_on', sa.Date(), nullable=False),
        sa.Column('acknowledged_at', TZ, nullable=True),
        sa.Column('acknowledged_by', S(length=50), nullable=False),
        sa.Column('use_due_on', sa.Date(), nullable=True),
        sa.Column('closed_at', TZ, nullable=True),
        sa.Column('closed_by', S(length=50), nullable=False),
        sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('inspection_id', 'receiver'),
    )
    with op.batch_alter_table('results_letter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_results_letter_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_results_letter_status'), ['status'], unique=False)
    op.create_table(
        'results_use',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('letter_id', sa.Integer(), nullable=False),
        sa.Column('kind', USE_KIND, nullable=False),
        sa.Column('note', S(length=2000), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('done_on', sa.Date(), nullable=True),
        sa.Column('recorded_by', S(length=50), nullable=False),
        sa.Column('recorded_at', TZ, nullable=False),
        sa.ForeignKeyConstraint(['letter_id'], ['results_letter.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('results_use', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_results_use_letter_id'), ['letter_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('results_use', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_results_use_letter_id'))
    op.drop_table('results_use')
    with op.batch_alter_table('results_letter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_results_letter_status'))
        batch_op.drop_index(batch_op.f('ix_results_letter_inspection_id'))
    op.drop_table('results_letter')
