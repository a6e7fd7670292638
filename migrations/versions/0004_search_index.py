"""search index: chunk vectors, the index model and the change log

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:25:00.000000
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('search_index_changes',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_search_index_changes'))
    )
    # Chunks written before this revision have no vector: drop them; a reindex rebuilds.
    op.execute('DELETE FROM article_chunks')
    with op.batch_alter_table('article_chunks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vector', sa.LargeBinary(), nullable=False))
    with op.batch_alter_table('search_index_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model', sa.String(length=300), nullable=False,
                                      server_default=''))
    # The row writers lock; created here so two first writers cannot both insert it.
    op.execute("INSERT INTO search_index_state (id, version, model, updated_at) "
               "SELECT 1, 0, '', CURRENT_TIMESTAMP "
               "WHERE NOT EXISTS (SELECT 1 FROM search_index_state)")


def downgrade() -> None:
    with op.batch_alter_table('search_index_state', schema=None) as batch_op:
        batch_op.drop_column('model')
    with op.batch_alter_table('article_chunks', schema=None) as batch_op:
        batch_op.drop_column('vector')
    op.drop_table('search_index_changes')
