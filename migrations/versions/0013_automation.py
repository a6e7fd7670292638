"""automation: rules and their runs

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 17:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled by the part that owns this migration


def downgrade() -> None:
    pass  # PLACEHOLDER
