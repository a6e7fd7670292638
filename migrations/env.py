"""Alembic environment: the engine comes from the app (helpdesk.migrate) or alembic.ini's URL."""

from alembic import context
from sqlalchemy import Connection, create_engine

import helpdesk.models  # noqa: F401  (registers every table on the metadata)
import knowledge_base.feedback
import knowledge_base.models  # noqa: F401
from helpdesk.orm import Base
from helpdesk.services.conversation_search import described_by_models

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(connection, enforce=False)
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=sqlite, compare_type=True,
                          include_name=described_by_models)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _refuse_dangling_references(connection)
        connection.commit()
        if sqlite:
            _sqlite_foreign_keys(connection, enforce=True)


def _sqlite_foreign_keys(connection: Connection, *, enforce: bool) -> None:
    """SQLite rebuilds a table to alter it (batch mode): with foreign keys enforced, dropping
    the old table would cascade its deletes to every row that references it. The pragma only
    takes effect outside a transaction, so it is set before the migrations begin one."""
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if enforce else 'OFF'}")
    connection.commit()


def _refuse_dangling_references(connection: Connection) -> None:
    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if dangling:
        raise RuntimeError(f"migration left rows referencing missing rows: {dangling[:5]}")


run_migrations()
