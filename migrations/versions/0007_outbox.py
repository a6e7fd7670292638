"""outbox: outbound emails waiting to be sent, sent or failed

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 13:45:17.184336
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbound_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('agent_reply', 'acknowledgement', 'solved_survey', 'notification', name='outboundkind', native_enum=False, length=32), nullable=False),
    sa.Column('from_name', sa.String(length=200), nullable=False),
    sa.Column('from_address', sa.String(length=320), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('cc_addresses', sa.JSON(), nullable=False),
    sa.Column('reply_to', sa.String(length=400), nullable=False),
    sa.Column('subject', sa.String(length=1000), nullable=False),
    sa.Column('rfc_message_id', sa.String(length=500), nullable=False),
    sa.Column('in_reply_to', sa.String(length=500), nullable=True),
    sa.Column('references', sa.JSON(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('auto_submitted', sa.Boolean(), nullable=False),
    sa.Column('state', sa.Enum('queued', 'sent', 'failed', name='outboundstate', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('sent_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_outbound_emails_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_outbound_emails_message_id_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_emails')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbound_emails_message_id')),
    sa.UniqueConstraint('rfc_message_id', name=op.f('uq_outbound_emails_rfc_message_id'))
    )
    with op.batch_alter_table('outbound_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbound_emails_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_outbound_emails_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_emails_to_address'), ['to_address'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbound_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_emails_to_address'))
        batch_op.drop_index('ix_outbound_emails_due')
        batch_op.drop_index(batch_op.f('ix_outbound_emails_conversation_id'))

    op.drop_table('outbound_emails')
