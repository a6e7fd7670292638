"""reports: indexes and report settings

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 23:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The presence history the reports count time online from.
    op.create_table('presence_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('presence', sa.Enum('online', 'away', 'offline', name='presence', native_enum=False, length=32), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('changed_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_presence_changes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_presence_changes'))
    )
    op.create_index('ix_presence_changes_user_time', 'presence_changes', ['user_id', 'changed_at'], unique=False)
    # Indexes only (no batch copy: conversations and messages keep their search triggers).
    op.create_index('ix_timeline_type_time', 'timeline_events', ['type', 'occurred_at'], unique=False)
    op.create_index(op.f('ix_conversations_csat_given_at'), 'conversations', ['csat_given_at'], unique=False)
    op.create_index('ix_messages_author_time', 'messages', ['author_kind', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_messages_author_time', table_name='messages')
    op.drop_index(op.f('ix_conversations_csat_given_at'), table_name='conversations')
    op.drop_index('ix_timeline_type_time', table_name='timeline_events')
    op.drop_index('ix_presence_changes_user_time', table_name='presence_changes')
    op.drop_table('presence_changes')
