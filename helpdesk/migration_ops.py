"""Operations shared by the Alembic migrations.

SQLite alters a table by copying it (Alembic's batch mode): the copy loses the table's
triggers, such as those that keep the full-text indexes of ``conversations`` and ``messages``
in step. Columns referencing another table are therefore added and dropped in place there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def add_reference_column(table: str, column: str, target: str) -> None:
    """Add a nullable ``column`` referencing ``target.id``, named by the naming convention.
    (No ON DELETE: SQLite's reflection would not report it back for a column added so.)"""
    name = f"fk_{table}_{column}_{target}"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
                   f"CONSTRAINT {name} REFERENCES {target} (id)")
        return
    op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
    op.create_foreign_key(name, table, target, [column], ["id"])


def drop_reference_column(table: str, column: str, target: str) -> None:
    """Undo ``add_reference_column``."""
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(f"fk_{table}_{column}_{target}", table, type_="foreignkey")
    drop_column(table, column)


def drop_column(table: str, column: str) -> None:
    """Drop a column that no constraint or index names, in place on SQLite too."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        return
    op.drop_column(table, column)
