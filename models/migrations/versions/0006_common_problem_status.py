"""common problem status

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-15

Common problems at the right moment (#12): a common problem is supervised (督办中) until its
own close-out (已销号), its letter has versions as later findings join; a finding knows its
common problem before the unit has rectification items; each proposal of a round's common
problems (共性问题归类) is registered with its run. Existing findings take the common problem of
their item; existing common problems stay under supervision.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('common_grouping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('finding_ids', sa.JSON(), nullable=True),
    sa.Column('status', sa.Enum('待启动', '已启动', '已确认', name='groupingstatus', native_enum=False, length=32), nullable=False),
    sa.Column('flow_run_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['inspection_round.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'attempt')
    )
    with op.batch_alter_table('common_grouping', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_common_grouping_round_id'), ['round_id'], unique=False)

    with op.batch_alter_table('common_problem', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.Enum('督办中', '已销号', name='commonproblemstatus', native_enum=False,
                                                        length=32), nullable=False, server_default='督办中'))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_by', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('letter_version', sa.Integer(), nullable=False, server_default='1'))

    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        # A plain ADD COLUMN … REFERENCES: a batch copy of `finding` would have to drop the table
        # that rectification items reference, which SQLite refuses with foreign keys on. (A
        # downgrade on SQLite leaves the column in place, emptied.)
        if 'common_problem_id' not in {c['name'] for c in sa.inspect(bind).get_columns('finding')}:
            op.execute(sa.text('ALTER TABLE finding ADD COLUMN common_problem_id INTEGER REFERENCES common_problem (id)'))
    else:
        op.add_column('finding', sa.Column('common_problem_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_finding_common_problem_id_common_problem', 'finding', 'common_problem',
                              ['common_problem_id'], ['id'])

    op.execute(sa.text(
        "UPDATE finding SET common_problem_id = (SELECT i.common_problem_id FROM rectification_item i "
        "WHERE i.finding_id = finding.id) "
        "WHERE EXISTS (SELECT 1 FROM rectification_item i WHERE i.finding_id = finding.id "
        "AND i.common_problem_id IS NOT NULL)"))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite drops a column used in a foreign key only by copying the table, and cannot drop
        # `finding` while rectification items reference it (foreign keys are on inside the
        # migration's transaction): the column stays, emptied; 0005's code does not read it.
        op.execute(sa.text('UPDATE finding SET common_problem_id = NULL'))
    else:
        op.drop_constraint('fk_finding_common_problem_id_common_problem', 'finding', type_='foreignkey')
        op.drop_column('finding', 'common_problem_id')

    with op.batch_alter_table('common_problem', schema=None) as batch_op:
        batch_op.drop_column('letter_version')
        batch_op.drop_column('closed_by')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('status')

    with op.batch_alter_table('common_grouping', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_common_grouping_round_id'))

    op.drop_table('common_grouping')
