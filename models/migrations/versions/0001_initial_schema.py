"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('role', sa.Enum('巡察办', '巡察组组长', '巡察组组员', '巡察工作领导小组', '纪委监委', '组织部', '职能部门', '被巡察单位联络员', name='accessrole', native_enum=False, length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('link', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('status', sa.Enum('待发送', '发送中', '已发送', '无接收人', name='alertstatus', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key', 'recipient')
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_dedupe_key'), ['dedupe_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_status'), ['status'], unique=False)

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('inspection_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sa.Enum('常规巡察', '专项巡察', '机动巡察', '延伸巡察', '交叉巡察', '回头看', name='roundkind', native_enum=False, length=32), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('方案待批', '方案退回', '进行中', '已完成', name='roundstatus', native_enum=False, length=32), nullable=False),
    sa.Column('flow_run_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('inspection_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_round_name'), ['name'], unique=True)

    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('specialties', sa.JSON(), nullable=True),
    sa.Column('pools', sa.JSON(), nullable=True),
    sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_name'), ['name'], unique=True)

    op.create_table('rolerecipient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('role', 'url')
    )
    with op.batch_alter_table('rolerecipient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rolerecipient_role'), ['role'], unique=False)

    op.create_table('unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sa.Enum('乡镇街道', '部门', '国有企业', '社区村', name='unitkind', native_enum=False, length=32), nullable=False),
    sa.Column('area', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('secretary_name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('secretary_contact', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('liaison_leader_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['liaison_leader_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_name'), ['name'], unique=True)

    # person and unit refer to each other (a person's unit, a unit's liaison leader): the
    # second reference is added once both tables exist.
    with op.batch_alter_table('person') as batch:
        batch.create_foreign_key('fk_person_unit_id_unit', 'unit', ['unit_id'], ['id'])
    op.create_table('common_problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('leader_in_charge', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('departments', sa.JSON(), nullable=True),
    sa.Column('confirmed_by', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['inspection_round.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('common_problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_common_problem_round_id'), ['round_id'], unique=False)

    op.create_table('conflict',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('原工作单位', '亲属任职', '申报回避', name='conflictkind', native_enum=False, length=32), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('person_id', 'unit_id', 'kind')
    )
    with op.batch_alter_table('conflict', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflict_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflict_unit_id'), ['unit_id'], unique=False)

    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['inspection_round.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'name')
    )
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_round_id'), ['round_id'], unique=False)

    op.create_table('inspection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Enum('巡察准备', '集中巡察', '报告巡察', '巡察反馈', '线索移交', '督促整改', '立卷归档', '已归档', name='stage', native_enum=False, length=32), nullable=False),
    sa.Column('search_count', sa.Integer(), nullable=False),
    sa.Column('flow_run_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('feedback_date', sa.Date(), nullable=True),
    sa.Column('formal_report_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('plan_submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('plan_approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['inspection_round.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'unit_id')
    )
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_unit_id'), ['unit_id'], unique=False)

    op.create_table('team_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('组长', '副组长', '组员', name='teamrole', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id', 'person_id')
    )
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_member_team_id'), ['team_id'], unique=False)

    op.create_table('approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('gate', sa.Enum('方案及组成人员审批', '巡察组提交报告', '报告审议', '线索移交审批', '整改方案审核', '整改销号', '回头看核查', '共性问题归类', name='gate', native_enum=False, length=32), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('待审批', '已决定', name='approvalstatus', native_enum=False, length=32), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('approver', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('flow_run_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminders_sent', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('codes_issued', sa.Integer(), nullable=False),
    sa.Column('code_failures', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['inspection_round.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'inspection_id', 'gate', 'attempt')
    )
    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_round_id'), ['round_id'], unique=False)

    op.create_table('clue_letter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('receiver', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('batch', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('doc_no', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('clue_count', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ack_due_on', sa.Date(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('reminders_sent', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('inspection_id', 'receiver', 'batch')
    )
    with op.batch_alter_table('clue_letter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clue_letter_ack_due_on'), ['ack_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_clue_letter_inspection_id'), ['inspection_id'], unique=False)

    op.create_table('document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['inspection_round.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('inspection_id', 'kind', 'version')
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_round_id'), ['round_id'], unique=False)

    op.create_table('finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('evidence', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('scope', sa.Enum('个性问题', '共性问题', name='findingscope', native_enum=False, length=32), nullable=False),
    sa.Column('fixed_on_site', sa.Boolean(), nullable=False),
    sa.Column('search_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_inspection_id'), ['inspection_id'], unique=False)

    op.create_table('inspection_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('inspection_id', 'kind')
    )
    with op.batch_alter_table('inspection_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_notice_inspection_id'), ['inspection_id'], unique=False)

    op.create_table('look_back',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_inspection_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('cause', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('team', sa.JSON(), nullable=True),
    sa.Column('flow_run_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('triggered_on', sa.Date(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['source_inspection_id'], ['inspection.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_inspection_id')
    )
    with op.batch_alter_table('look_back', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_look_back_source_inspection_id'), ['source_inspection_id'], unique=False)

    op.create_table('accountability',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('look_back_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['look_back_id'], ['look_back.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('accountability', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accountability_look_back_id'), ['look_back_id'], unique=False)

    op.create_table('clue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('违纪违法线索', '选人用人问题', '信访事项', '行业领域问题', name='cluekind', native_enum=False, length=32), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('receiver', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('status', sa.Enum('待移交', '暂缓移交', '已移交', '已签收', '已办结', name='cluestatus', native_enum=False, length=32), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=True),
    sa.Column('transferred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', sa.Enum('初步核实', '立案审查调查', '诫勉谈话', '留置', '移送司法机关', '党纪政务处分', '经核查无问题', name='clueresult', native_enum=False, length=32), nullable=True),
    sa.Column('result_note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('result_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_due_on', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], ),
    sa.ForeignKeyConstraint(['letter_id'], ['clue_letter.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('clue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clue_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clue_letter_id'), ['letter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clue_status'), ['status'], unique=False)

    op.create_table('rectification_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('measure', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('responsible_leader_id', sa.Integer(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('未开始', '整改中', '已完成待核', '已销号', name='itemstatus', native_enum=False, length=32), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('supervisor', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('supervise_every_days', sa.Integer(), nullable=False),
    sa.Column('evidence', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('rules_made', sa.Integer(), nullable=False),
    sa.Column('common_problem_id', sa.Integer(), nullable=True),
    sa.Column('next_rung', sa.Integer(), nullable=False),
    sa.Column('next_action_on', sa.Date(), nullable=True),
    sa.Column('ladder_cycle', sa.Integer(), nullable=False),
    sa.Column('last_report_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['common_problem_id'], ['common_problem.id'], ),
    sa.ForeignKeyConstraint(['finding_id'], ['finding.id'], ),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], ),
    sa.ForeignKeyConstraint(['responsible_leader_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('finding_id')
    )
    with op.batch_alter_table('rectification_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_item_deadline'), ['deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_item_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_item_next_action_on'), ['next_action_on'], unique=False)

    op.create_table('look_back_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('look_back_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['rectification_item.id'], ),
    sa.ForeignKeyConstraint(['look_back_id'], ['look_back.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('look_back_id', 'item_id')
    )
    with op.batch_alter_table('look_back_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_look_back_check_look_back_id'), ['look_back_id'], unique=False)

    op.create_table('petition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('来信', '来电', '来访', '意见箱', '网络举报', name='petitionchannel', native_enum=False, length=32), nullable=False),
    sa.Column('content', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('informant_enc', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('clue_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['clue_id'], ['clue.id'], ),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_petition_inspection_id'), ['inspection_id'], unique=False)

    op.create_table('progress_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('未开始', '整改中', '已完成待核', '已销号', name='itemstatus', native_enum=False, length=32), nullable=False),
    sa.Column('measure_taken', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('evidence', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('rules_made', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['rectification_item.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('progress_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progress_report_item_id'), ['item_id'], unique=False)

    op.create_table('supervision_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('ladder_cycle', sa.Integer(), nullable=False),
    sa.Column('rung', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['rectification_item.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id', 'ladder_cycle', 'rung')
    )
    with op.batch_alter_table('supervision_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_notice_as_of'), ['as_of'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_notice_inspection_id'), ['inspection_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('supervision_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_notice_inspection_id'))
        batch_op.drop_index(batch_op.f('ix_supervision_notice_as_of'))

    op.drop_table('supervision_notice')
    with op.batch_alter_table('progress_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_progress_report_item_id'))

    op.drop_table('progress_report')
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_petition_inspection_id'))

    op.drop_table('petition')
    with op.batch_alter_table('look_back_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_look_back_check_look_back_id'))

    op.drop_table('look_back_check')
    with op.batch_alter_table('rectification_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_item_next_action_on'))
        batch_op.drop_index(batch_op.f('ix_rectification_item_inspection_id'))
        batch_op.drop_index(batch_op.f('ix_rectification_item_deadline'))

    op.drop_table('rectification_item')
    with op.batch_alter_table('clue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clue_status'))
        batch_op.drop_index(batch_op.f('ix_clue_letter_id'))
        batch_op.drop_index(batch_op.f('ix_clue_inspection_id'))

    op.drop_table('clue')
    with op.batch_alter_table('accountability', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accountability_look_back_id'))

    op.drop_table('accountability')
    with op.batch_alter_table('look_back', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_look_back_source_inspection_id'))

    op.drop_table('look_back')
    with op.batch_alter_table('inspection_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_notice_inspection_id'))

    op.drop_table('inspection_notice')
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_inspection_id'))

    op.drop_table('finding')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_round_id'))

    op.drop_table('document')
    with op.batch_alter_table('clue_letter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clue_letter_inspection_id'))
        batch_op.drop_index(batch_op.f('ix_clue_letter_ack_due_on'))

    op.drop_table('clue_letter')
    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_round_id'))

    op.drop_table('approval')
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_member_team_id'))

    op.drop_table('team_member')
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_unit_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_round_id'))

    op.drop_table('inspection')
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_round_id'))

    op.drop_table('team')
    with op.batch_alter_table('conflict', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflict_unit_id'))
        batch_op.drop_index(batch_op.f('ix_conflict_person_id'))

    op.drop_table('conflict')
    with op.batch_alter_table('common_problem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_common_problem_round_id'))

    op.drop_table('common_problem')
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_name'))

    with op.batch_alter_table('person') as batch:
        batch.drop_constraint('fk_person_unit_id_unit', type_='foreignkey')
    op.drop_table('unit')
    with op.batch_alter_table('rolerecipient', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rolerecipient_role'))

    op.drop_table('rolerecipient')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_name'))

    op.drop_table('person')
    with op.batch_alter_table('inspection_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_round_name'))

    op.drop_table('inspection_round')
    op.drop_table('audit_event')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_status'))
        batch_op.drop_index(batch_op.f('ix_alert_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_alert_dedupe_key'))

    op.drop_table('alert')
    op.drop_table('account')
