"""Alembic: from an empty database to head and back, and the models agree with it."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import helpdesk.models  # noqa: F401  (every table on the metadata)
from helpdesk import migrate
from helpdesk.orm import Base, make_engine


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def tables(engine):
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_then_downgrade_to_base_and_up_again(engine):
    assert migrate.current_revision(engine) is None
    with pytest.raises(migrate.DatabaseNotMigrated, match="comptoir db upgrade"):
        migrate.check_schema(engine)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    assert tables(engine) == set(Base.metadata.tables)
    migrate.check_schema(engine)
    migrate.downgrade(engine, "base")
    assert (migrate.current_revision(engine), tables(engine)) == (None, set())
    migrate.upgrade(engine)
    assert tables(engine) == set(Base.metadata.tables)


def test_the_models_and_the_migrations_agree(engine):
    migrate.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
