"""identity at the door

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

The gateway's tables (#14): each account's credential (argon2 password hash, failures and
lock-out, encrypted TOTP secret), the login sessions (only a hash of each token) and the gate
receipts the gateway writes before it forwards a resume. Nothing existing changes.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'credential',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('password_hash', S(length=200), nullable=False),
        sa.Column('must_change', sa.Boolean(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('locked_until', TZ, nullable=True),
        sa.Column('totp_secret_enc', S(length=500), nullable=False),
        sa.Column('totp_enrolled_at', TZ, nullable=True),
        sa.Column('totp_last_step', sa.Integer(), nullable=False),
        sa.Column('updated_at', TZ, nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id'),
    )
    op.create_table(
        'login_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', S(length=64), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('stage', S(length=20), nullable=False),
        sa.Column('pending_secret_enc', S(length=500), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.Column('last_active_at', TZ, nullable=False),
        sa.Column('ended_at', TZ, nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_account_id'), ['account_id'], unique=False)
    op.create_table(
        'gate_receipt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('approval_id', sa.Integer(), nullable=False),
        sa.Column('flow_run_id', S(length=40), nullable=False),
        sa.Column('pause_key', S(length=100), nullable=False),
        sa.Column('person', S(length=50), nullable=False),
        sa.Column('at', TZ, nullable=False),
        sa.Column('mac', S(length=64), nullable=False),
        sa.ForeignKeyConstraint(['approval_id'], ['approval.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('gate_receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gate_receipt_approval_id'), ['approval_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gate_receipt_flow_run_id'), ['flow_run_id'], unique=False)


def downgrade() -> None:
    op.drop_table('gate_receipt')
    op.drop_table('login_session')
    op.drop_table('credential')
