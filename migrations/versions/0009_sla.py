"""sla: business-hours calendars, holidays, SLA policies, conversation clocks and breaches

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 17:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled by the part that owns this migration


def downgrade() -> None:
    pass  # PLACEHOLDER
