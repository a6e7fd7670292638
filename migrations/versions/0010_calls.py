"""calls: phone calls and their CTI events

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 17:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled by the part that owns this migration


def downgrade() -> None:
    pass  # PLACEHOLDER
