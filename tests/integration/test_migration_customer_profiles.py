"""Migration 0014 keeps the data already stored: a noted chat claim moves from the
attributes to its own column, and back on downgrade (SQLite and PostgreSQL)."""

import json

import pytest
from sqlalchemy import text

from helpdesk import migrate
from helpdesk.orm import make_engine


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def customer_row(engine):
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM customers")).mappings().one()
    attributes = row["attributes"]
    return (json.loads(attributes) if isinstance(attributes, str) else attributes,
            row.get("claimed_email"))


def test_a_claimed_email_attribute_becomes_the_column_and_back(engine):
    migrate.upgrade(engine, "0013")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO customers (name, attributes, consents, created_at, updated_at) "
            "VALUES ('Ada', :attributes, '{}', :now, :now)"),
            {"attributes": json.dumps({"claimed_email": "ada@example.com", "plan": "gold"}),
             "now": "2026-01-01 00:00:00"})
    migrate.upgrade(engine)
    assert customer_row(engine) == ({"plan": "gold"}, "ada@example.com")
    migrate.downgrade(engine, "0013")
    assert customer_row(engine) == ({"plan": "gold", "claimed_email": "ada@example.com"}, None)
