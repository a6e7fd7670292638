"""views and search: saved views, full-text search over conversations

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 17:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled by the part that owns this migration


def downgrade() -> None:
    pass  # PLACEHOLDER
