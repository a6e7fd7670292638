"""Alembic environment: the engine comes from the app (helpdesk.migrate) or alembic.ini's URL."""

from alembic import context
from sqlalchemy import create_engine

import helpdesk.models  # noqa: F401  (registers every table on the metadata)
import knowledge_base.feedback
import knowledge_base.models  # noqa: F401
from helpdesk.orm import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite",
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
