"""finding hash

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Idempotent findings import (#16): a content hash per finding, unique per inspection, and
when a finding was last corrected. Existing rows get their hash; a row repeating an earlier
one of the same inspection (the old importer stored re-imports again) keeps an empty hash, so
nothing is deleted and the constraint holds.
"""
from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _hash(category: str, description: str) -> str:
    # Frozen copy of tasks/findings.py finding_hash (a migration must not change with the code).
    def norm(text: str) -> str:
        return " ".join(text.split())
    return hashlib.sha256(json.dumps(["", norm(category), norm(description)], ensure_ascii=False).encode()).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True))

    conn = op.get_bind()
    seen: set[tuple[int, str]] = set()
    rows = conn.execute(sa.text("SELECT id, inspection_id, category, description FROM finding ORDER BY id")).all()
    for fid, iid, category, description in rows:
        key = (iid, _hash(category, description))
        if key in seen:
            continue
        seen.add(key)
        conn.execute(sa.text("UPDATE finding SET content_hash = :h WHERE id = :id"), {"h": key[1], "id": fid})

    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_finding_inspection_id_content_hash', ['inspection_id', 'content_hash'])


def downgrade() -> None:
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_constraint('uq_finding_inspection_id_content_hash', type_='unique')
        batch_op.drop_column('corrected_at')
        batch_op.drop_column('content_hash')
