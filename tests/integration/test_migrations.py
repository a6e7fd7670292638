"""Alembic: from an empty database to head and back, and the models agree with it."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import helpdesk.models  # noqa: F401  (every table on the metadata)
from helpdesk import migrate
from helpdesk.extensions import db
from helpdesk.orm import Base, make_engine
from helpdesk.services.conversation_search import described_by_models, is_index_object


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def tables(engine):
    names = set(inspect(engine).get_table_names()) - {"alembic_version"}
    return {name for name in names if not is_index_object(name)}


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
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_name": described_by_models})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrading_and_upgrading_keep_the_data_already_stored(app, make):
    """SQLite rebuilds tables to alter them: the rebuild must not cascade deletes."""
    conversation = make.conversation(queue_id=make.queue().id, body="Still here?")
    with app.app_context():
        engine = db.engine
        migrate.downgrade(engine, "0007")
        migrate.upgrade(engine)
        with engine.connect() as connection:
            bodies = connection.execute(text(
                "SELECT body FROM messages WHERE conversation_id = :id"),
                {"id": conversation.id}).scalars().all()
            waiting = connection.execute(text(
                "SELECT waiting_since IS NOT NULL FROM conversations WHERE id = :id"),
                {"id": conversation.id}).scalar_one()
    assert bodies == ["Still here?"]
    assert waiting
