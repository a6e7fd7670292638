"""privacy: data requests, retention settings

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 23:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('data_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('export', 'erasure', name='datarequestkind', native_enum=False, length=32), nullable=False),
    sa.Column('state', sa.Enum('pending', 'running', 'done', 'failed', 'expired', name='datarequeststate', native_enum=False, length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('archive_name', sa.String(length=200), nullable=True),
    sa.Column('archive_size', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_data_requests_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_requests'))
    )
    with op.batch_alter_table('data_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_requests_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_data_requests_state_kind', ['state', 'kind'], unique=False)

    op.create_table('retention_settings',
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('days', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_retention_settings_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('rule', name=op.f('pk_retention_settings'))
    )


def downgrade() -> None:
    op.drop_table('retention_settings')
    with op.batch_alter_table('data_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_data_requests_state_kind')
        batch_op.drop_index(batch_op.f('ix_data_requests_customer_id'))
    op.drop_table('data_requests')
