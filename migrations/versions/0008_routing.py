"""routing: agent capacity use, routing decisions, queue overflow

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 17:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('queues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overflow_queue_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('overflow_after_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('channel_weights', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch_op.create_foreign_key(batch_op.f('fk_queues_overflow_queue_id_queues'), 'queues', ['overflow_queue_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('queue_memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_routed_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_since', helpdesk.orm.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('required_skills', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('routing_reason', sa.String(length=32), nullable=True))

    # The conversations already waiting in a queue have waited since they were opened.
    op.execute("UPDATE conversations SET waiting_since = created_at WHERE owner = 'queue'")


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('routing_reason')
        batch_op.drop_column('required_skills')
        batch_op.drop_column('waiting_since')

    with op.batch_alter_table('queue_memberships', schema=None) as batch_op:
        batch_op.drop_column('last_routed_at')

    with op.batch_alter_table('queues', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_queues_overflow_queue_id_queues'), type_='foreignkey')
        batch_op.drop_column('channel_weights')
        batch_op.drop_column('overflow_after_seconds')
        batch_op.drop_column('overflow_queue_id')
