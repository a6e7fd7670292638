"""content gaps: clusters of unanswered questions

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26 23:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('content_gap_clusters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('status', sa.Enum('open', 'dismissed', 'covered', name='gapstatus', native_enum=False, length=32), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.Column('centroid', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_content_gap_clusters_article_id_articles'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_gap_clusters'))
    )
    with op.batch_alter_table('content_gap_clusters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_content_gap_clusters_status'), ['status'], unique=False)

    op.create_table('content_gap_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=300), nullable=False),
    sa.Column('threshold', sa.Double(), nullable=True),
    sa.Column('refreshed_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_gap_state'))
    )
    with op.batch_alter_table('unanswered_questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cluster_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('vector', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('central_rank', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_unanswered_questions_message_id'), ['message_id'], unique=False)
        batch_op.create_index('ix_unanswered_questions_cluster_rank', ['cluster_id', 'central_rank', 'created_at'], unique=False)
        batch_op.drop_index(batch_op.f('ix_unanswered_questions_created_at'))
        batch_op.create_index('ix_unanswered_questions_created_cluster', ['created_at', 'cluster_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_unanswered_questions_message_id_messages'), 'messages', ['message_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_unanswered_questions_cluster_id_content_gap_clusters'), 'content_gap_clusters', ['cluster_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('unanswered_questions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_unanswered_questions_cluster_id_content_gap_clusters'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_unanswered_questions_message_id_messages'), type_='foreignkey')
        batch_op.drop_index('ix_unanswered_questions_created_cluster')
        batch_op.create_index(batch_op.f('ix_unanswered_questions_created_at'), ['created_at'], unique=False)
        batch_op.drop_index('ix_unanswered_questions_cluster_rank')
        batch_op.drop_index(batch_op.f('ix_unanswered_questions_message_id'))
        batch_op.drop_column('central_rank')
        batch_op.drop_column('vector')
        batch_op.drop_column('cluster_id')
        batch_op.drop_column('message_id')

    op.drop_table('content_gap_state')
    with op.batch_alter_table('content_gap_clusters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_content_gap_clusters_status'))

    op.drop_table('content_gap_clusters')
