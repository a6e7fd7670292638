"""live chat: sites, read receipts, assistant state, unanswered questions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:45:58.601431
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows get the new columns' defaults through server_default.
    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('allowed_origins', sa.JSON(), nullable=False),
    sa.Column('queue_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('prechat', sa.JSON(), nullable=False),
    sa.Column('bot_enabled', sa.Boolean(), nullable=False),
    sa.Column('bot_settings', sa.JSON(), nullable=False),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['queue_id'], ['queues.id'], name=op.f('fk_sites_queue_id_queues'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('key', name=op.f('uq_sites_key'))
    )
    op.create_table('unanswered_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('best_score', sa.Double(), nullable=True),
    sa.Column('best_article_id', sa.Integer(), nullable=True),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['best_article_id'], ['articles.id'], name=op.f('fk_unanswered_questions_best_article_id_articles'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_unanswered_questions_conversation_id_conversations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unanswered_questions'))
    )
    with op.batch_alter_table('unanswered_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unanswered_questions_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unanswered_questions_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('customer_read_seq', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('agent_read_seq', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('unhelpful_answers', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('handoff', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('csat_rating', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('csat_comment', sa.Text(), nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_conversations_site_id_sites'), 'sites', ['site_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meta', sa.JSON(), nullable=False, server_default='{}'))

    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conversation_id', sa.Integer(), nullable=True))
        batch_op.alter_column('message_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_attachments_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_attachments_conversation_id_conversations'), 'conversations', ['conversation_id'], ['id'], ondelete='CASCADE')



def downgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_attachments_conversation_id_conversations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachments_conversation_id'))
        batch_op.alter_column('message_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('conversation_id')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('meta')

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_conversations_site_id_sites'), type_='foreignkey')
        batch_op.drop_column('csat_comment')
        batch_op.drop_column('csat_rating')
        batch_op.drop_column('handoff')
        batch_op.drop_column('unhelpful_answers')
        batch_op.drop_column('agent_read_seq')
        batch_op.drop_column('customer_read_seq')
        batch_op.drop_column('site_id')

    with op.batch_alter_table('unanswered_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unanswered_questions_created_at'))
        batch_op.drop_index(batch_op.f('ix_unanswered_questions_conversation_id'))

    op.drop_table('unanswered_questions')
    op.drop_table('sites')
