"""outbox secret

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

One-time codes leave the outbox's stored text (#14): a code now waits encrypted in
alert.secret and is erased once sent. Bodies written before this release hold their codes in
clear; they are replaced by “（已删除）”, sent or not (a code of an alert not yet delivered at the
upgrade is lost with it: the approver gets a new one with the next reminder, or after five wrong
entries, as for any lost code).
"""
from __future__ import annotations

import re

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# Frozen copy of the labels tasks/approvals.py and tasks/clues.py wrote before this release.
_CODE = re.compile(r"(验证码|签收码)：\d{6}")


def upgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False,
                                      server_default=''))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, body FROM alert WHERE body LIKE :a OR body LIKE :b"),
                        {"a": "%验证码：%", "b": "%签收码：%"}).all()
    for alert_id, body in rows:
        scrubbed = _CODE.sub(lambda m: f"{m.group(1)}：（已删除）", body)
        if scrubbed != body:
            conn.execute(sa.text("UPDATE alert SET body = :body WHERE id = :id"), {"body": scrubbed, "id": alert_id})


def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('secret')
