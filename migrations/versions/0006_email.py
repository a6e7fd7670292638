"""email intake: inbound emails, Message-ID references, participants, mailboxes, bouncing

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 13:25:21.063165
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mailboxes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('imap_host', sa.String(length=255), nullable=False),
    sa.Column('imap_port', sa.Integer(), nullable=False),
    sa.Column('imap_security', sa.Enum('tls', 'starttls', 'none', name='mailboxsecurity', native_enum=False, length=32), nullable=False),
    sa.Column('imap_username', sa.String(length=320), nullable=False),
    sa.Column('password_encrypted', sa.Text(), nullable=False),
    sa.Column('imap_folder', sa.String(length=200), nullable=False),
    sa.Column('poll_seconds', sa.Integer(), nullable=False),
    sa.Column('queue_id', sa.Integer(), nullable=True),
    sa.Column('use_idle', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), nullable=True),
    sa.Column('uid_validity', sa.BigInteger(), nullable=True),
    sa.Column('last_polled_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['queue_id'], ['queues.id'], name=op.f('fk_mailboxes_queue_id_queues'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailboxes')),
    sa.UniqueConstraint('address', name=op.f('uq_mailboxes_address'))
    )
    op.create_table('conversation_participants',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('added_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_participants_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('conversation_id', 'email', name=op.f('pk_conversation_participants'))
    )
    op.create_table('email_message_refs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rfc_message_id', sa.String(length=500), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_email_message_refs_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_email_message_refs_message_id_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_message_refs')),
    sa.UniqueConstraint('rfc_message_id', name=op.f('uq_email_message_refs_rfc_message_id'))
    )
    with op.batch_alter_table('email_message_refs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_message_refs_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('inbound_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedup_key', sa.String(length=520), nullable=False),
    sa.Column('rfc_message_id', sa.String(length=500), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('cli', 'api', 'imap', name='inboundsource', native_enum=False, length=32), nullable=False),
    sa.Column('mailbox_id', sa.Integer(), nullable=True),
    sa.Column('source_ref', sa.String(length=1000), nullable=False),
    sa.Column('received_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.Enum('received', 'processed', 'quarantined', name='inboundstate', native_enum=False, length=32), nullable=False),
    sa.Column('outcome', sa.Enum('new_conversation', 'appended', 'duplicate', 'auto_reply', 'bounce', 'quarantined', name='intakeoutcome', native_enum=False, length=32), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('thread_rule', sa.Enum('in_reply_to', 'references', 'address_token', 'subject_token', 'new', name='threadrule', native_enum=False, length=32), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('processed_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_inbound_emails_conversation_id_conversations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], name=op.f('fk_inbound_emails_mailbox_id_mailboxes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_inbound_emails_message_id_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_emails')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_inbound_emails_dedup_key'))
    )
    with op.batch_alter_table('inbound_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_emails_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_emails_state'), ['state'], unique=False)

    # Existing identities are not bouncing.
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bouncing', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_column('bouncing')

    with op.batch_alter_table('inbound_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_emails_state'))
        batch_op.drop_index(batch_op.f('ix_inbound_emails_conversation_id'))

    op.drop_table('inbound_emails')
    with op.batch_alter_table('email_message_refs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_message_refs_conversation_id'))

    op.drop_table('email_message_refs')
    op.drop_table('conversation_participants')
    op.drop_table('mailboxes')
