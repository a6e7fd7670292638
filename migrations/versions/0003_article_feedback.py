"""article feedback

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 08:10:00.000000
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('article_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('helpful', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_feedback_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_article_feedback_customer_id_customers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article_feedback'))
    )
    with op.batch_alter_table('article_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_article_feedback_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_article_feedback_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_article_feedback_customer_id'), ['customer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('article_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article_feedback_customer_id'))
        batch_op.drop_index(batch_op.f('ix_article_feedback_created_at'))
        batch_op.drop_index(batch_op.f('ix_article_feedback_article_id'))

    op.drop_table('article_feedback')
