"""customer profiles: attribute definitions, organisations, customer merges

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 23:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm
from helpdesk.migration_ops import add_reference_column, drop_column, drop_reference_column


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Custom fields describe conversations, customers or organisations; a key is unique
    # per subject.
    with op.batch_alter_table('custom_field_definitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.Enum('conversation', 'customer', 'organisation', name='fieldsubject', native_enum=False, length=32), nullable=False, server_default='conversation'))
        batch_op.drop_constraint(batch_op.f('uq_custom_field_definitions_key'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_custom_field_definitions_subject_key'), ['subject', 'key'])
    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('name', name=op.f('uq_organisations_name'))
    )
    op.create_table('organisation_domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_organisation_domains_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_domains')),
    sa.UniqueConstraint('domain', name=op.f('uq_organisation_domains_domain'))
    )
    with op.batch_alter_table('organisation_domains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_domains_organisation_id'), ['organisation_id'], unique=False)
    # In place on SQLite (helpdesk.migration_ops): customers is referenced by most tables.
    add_reference_column('customers', 'organisation_id', 'organisations')
    op.create_index(op.f('ix_customers_organisation_id'), 'customers', ['organisation_id'], unique=False)
    op.add_column('customers', sa.Column('claimed_email', sa.String(length=320), nullable=True))
    op.create_index(op.f('ix_customers_claimed_email'), 'customers', ['claimed_email'], unique=False)
    _move_claimed_email(to_column=True)
    op.create_table('customer_merges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('agent', 'verified_identity', name='mergereason', native_enum=False, length=32), nullable=False),
    sa.Column('merged_by_id', sa.Integer(), nullable=True),
    sa.Column('merged_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('moved', sa.JSON(), nullable=False),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.Column('unmerged_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=True),
    sa.Column('unmerged_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['merged_by_id'], ['users.id'], name=op.f('fk_customer_merges_merged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_id'], ['customers.id'], name=op.f('fk_customer_merges_source_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['customers.id'], name=op.f('fk_customer_merges_target_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unmerged_by_id'], ['users.id'], name=op.f('fk_customer_merges_unmerged_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_merges'))
    )
    with op.batch_alter_table('customer_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_merges_source_id'), ['source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_merges_target_id'), ['target_id'], unique=False)
    # The customer page filters its timeline by channel, newest first.
    op.create_index('ix_timeline_customer_channel_time', 'timeline_events', ['customer_id', 'channel', 'occurred_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_timeline_customer_channel_time', table_name='timeline_events')
    with op.batch_alter_table('customer_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_merges_target_id'))
        batch_op.drop_index(batch_op.f('ix_customer_merges_source_id'))
    op.drop_table('customer_merges')
    _move_claimed_email(to_column=False)
    op.drop_index(op.f('ix_customers_claimed_email'), table_name='customers')
    drop_column('customers', 'claimed_email')
    op.drop_index(op.f('ix_customers_organisation_id'), table_name='customers')
    drop_reference_column('customers', 'organisation_id', 'organisations')
    with op.batch_alter_table('organisation_domains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_domains_organisation_id'))
    op.drop_table('organisation_domains')
    op.drop_table('organisations')
    with op.batch_alter_table('custom_field_definitions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_custom_field_definitions_subject_key'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_custom_field_definitions_key'), ['key'])
        batch_op.drop_column('subject')


# The address a chat visitor typed that is another customer's was an attribute
# (``claimed_email``); a column of its own is indexed, so the customers who typed an address
# are found without reading every customer.
CLAIMED = {
    ('sqlite', True): "UPDATE customers SET claimed_email = json_extract(attributes, '$.claimed_email'), attributes = json_remove(attributes, '$.claimed_email') WHERE json_extract(attributes, '$.claimed_email') IS NOT NULL",
    ('sqlite', False): "UPDATE customers SET attributes = json_set(attributes, '$.claimed_email', claimed_email) WHERE claimed_email IS NOT NULL",
    ('postgresql', True): "UPDATE customers SET claimed_email = attributes ->> 'claimed_email', attributes = (attributes::jsonb - 'claimed_email')::json WHERE attributes ->> 'claimed_email' IS NOT NULL",
    ('postgresql', False): "UPDATE customers SET attributes = (attributes::jsonb || jsonb_build_object('claimed_email', claimed_email))::json WHERE claimed_email IS NOT NULL",
}


def _move_claimed_email(*, to_column: bool) -> None:
    op.execute(CLAIMED[(op.get_bind().dialect.name, to_column)])
