"""sla: business-hours calendars, holidays, SLA policies, conversation clocks and breaches

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 17:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

PRIORITY = sa.Enum('low', 'normal', 'high', 'urgent', name='priority', native_enum=False, length=32)
METRIC = sa.Enum('first_response', 'next_response', 'resolution', name='slametric', native_enum=False, length=32)


def upgrade() -> None:
    op.create_table('business_calendars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('hours', sa.JSON(), nullable=False),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_calendars')),
    sa.UniqueConstraint('name', name=op.f('uq_business_calendars_name'))
    )
    op.create_table('calendar_holidays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['business_calendars.id'], name=op.f('fk_calendar_holidays_calendar_id_business_calendars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_holidays')),
    sa.UniqueConstraint('calendar_id', 'day', name=op.f('uq_calendar_holidays_calendar_id_day'))
    )
    op.create_table('sla_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=True),
    sa.Column('pause_statuses', sa.JSON(), nullable=False),
    sa.Column('warning_minutes', sa.Integer(), nullable=False),
    sa.Column('warning_actions', sa.JSON(), nullable=False),
    sa.Column('breach_actions', sa.JSON(), nullable=False),
    sa.Column('escalation_queue_id', sa.Integer(), nullable=True),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['business_calendars.id'], name=op.f('fk_sla_policies_calendar_id_business_calendars')),
    sa.ForeignKeyConstraint(['escalation_queue_id'], ['queues.id'], name=op.f('fk_sla_policies_escalation_queue_id_queues'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policies')),
    sa.UniqueConstraint('name', name=op.f('uq_sla_policies_name'))
    )
    op.create_table('sla_targets',
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('priority', PRIORITY, nullable=False),
    sa.Column('first_response_minutes', sa.Integer(), nullable=True),
    sa.Column('next_response_minutes', sa.Integer(), nullable=True),
    sa.Column('resolution_minutes', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['policy_id'], ['sla_policies.id'], name=op.f('fk_sla_targets_policy_id_sla_policies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('policy_id', 'priority', name=op.f('pk_sla_targets'))
    )
    op.create_table('conversation_slas',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=True),
    sa.Column('priority', PRIORITY, nullable=False),
    sa.Column('computed_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['business_calendars.id'], name=op.f('fk_conversation_slas_calendar_id_business_calendars'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_slas_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['policy_id'], ['sla_policies.id'], name=op.f('fk_conversation_slas_policy_id_sla_policies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_conversation_slas'))
    )
    with op.batch_alter_table('conversation_slas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_slas_policy_id'), ['policy_id'], unique=False)

    op.create_table('sla_deadlines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('metric', METRIC, nullable=False),
    sa.Column('started_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('target_minutes', sa.Integer(), nullable=False),
    sa.Column('due_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('warn_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('remaining_seconds', sa.Integer(), nullable=True),
    sa.Column('met_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('warned_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('breached_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation_slas.conversation_id'], name=op.f('fk_sla_deadlines_conversation_id_conversation_slas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_deadlines')),
    sa.UniqueConstraint('conversation_id', 'metric', name=op.f('uq_sla_deadlines_conversation_id_metric'))
    )
    with op.batch_alter_table('sla_deadlines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_deadlines_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_deadlines_warn_at'), ['warn_at'], unique=False)

    op.create_table('sla_breaches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('metric', METRIC, nullable=False),
    sa.Column('due_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('breached_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('queue_id', sa.Integer(), nullable=True),
    sa.Column('priority', PRIORITY, nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_sla_breaches_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['queue_id'], ['queues.id'], name=op.f('fk_sla_breaches_queue_id_queues'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_breaches')),
    sa.UniqueConstraint('conversation_id', 'metric', 'due_at', name=op.f('uq_sla_breaches_conversation_id_metric_due_at'))
    )
    with op.batch_alter_table('sla_breaches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_breaches_breached_at'), ['breached_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_breaches_conversation_id'), ['conversation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sla_breaches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_breaches_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_sla_breaches_breached_at'))

    op.drop_table('sla_breaches')
    with op.batch_alter_table('sla_deadlines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_deadlines_warn_at'))
        batch_op.drop_index(batch_op.f('ix_sla_deadlines_due_at'))

    op.drop_table('sla_deadlines')
    with op.batch_alter_table('conversation_slas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_slas_policy_id'))

    op.drop_table('conversation_slas')
    op.drop_table('sla_targets')
    op.drop_table('sla_policies')
    op.drop_table('calendar_holidays')
    op.drop_table('business_calendars')
