"""satisfaction attribution, segments, customer imports

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 23:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm
from helpdesk.migration_ops import add_reference_column, drop_column, drop_reference_column


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Columns of conversations are added in place (see helpdesk.migration_ops).
    op.add_column('conversations', sa.Column('csat_given_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True))
    add_reference_column('conversations', 'csat_agent_id', 'users')
    add_reference_column('conversations', 'csat_queue_id', 'queues')
    op.add_column('conversations', sa.Column('csat_by_assistant', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index('ix_conversations_customer_rated', 'conversations', ['customer_id', 'id', 'csat_rating'], unique=False, sqlite_where=sa.text('csat_rating IS NOT NULL'), postgresql_where=sa.text('csat_rating IS NOT NULL'))
    op.create_table('segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_segments_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments'))
    )
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_segments_owner_id'), ['owner_id'], unique=False)
    op.create_table('customer_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='importstate', native_enum=False, length=32), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('unchanged_count', sa.Integer(), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('claimed_until', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_customer_imports_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_imports'))
    )
    with op.batch_alter_table('customer_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_imports_state'), ['state'], unique=False)
    op.create_table('customer_import_errors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('column', sa.String(length=100), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['customer_imports.id'], name=op.f('fk_customer_import_errors_import_id_customer_imports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_import_errors'))
    )
    with op.batch_alter_table('customer_import_errors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_import_errors_import_id'), ['import_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer_import_errors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_import_errors_import_id'))
    op.drop_table('customer_import_errors')
    with op.batch_alter_table('customer_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_imports_state'))
    op.drop_table('customer_imports')
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_segments_owner_id'))
    op.drop_table('segments')
    op.drop_index('ix_conversations_customer_rated', table_name='conversations')
    for column in ('csat_by_assistant', 'csat_given_at'):
        drop_column('conversations', column)
    drop_reference_column('conversations', 'csat_queue_id', 'queues')
    drop_reference_column('conversations', 'csat_agent_id', 'users')
