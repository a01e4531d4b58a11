"""letter code

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clue_letter', schema=None) as batch_op:
        # Letters sent before this release have no code: server defaults fill the existing rows.
        batch_op.add_column(sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('code_failures', sa.Integer(), nullable=False, server_default='0'))



def downgrade() -> None:
    with op.batch_alter_table('clue_letter', schema=None) as batch_op:
        batch_op.drop_column('code_failures')
        batch_op.drop_column('code_hash')

