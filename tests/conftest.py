"""Fixtures: ``app``, ``client``, ``runner``, ``auth``, ``uow``, ``make``; SQLite and PostgreSQL.

Database-backed tests run once per backend: ``sqlite`` (a copy, in tmp_path, of a file
migrated once per run) and ``postgres`` (a fresh database created on
COMPTOIR_TEST_POSTGRES_URL's server and migrated once per run, emptied after each test
and dropped at the end). ``database_url`` gives an empty, unmigrated database of its own.
Set COMPTOIR_TEST_BACKENDS=sqlite to skip PostgreSQL locally.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text

from bot import responder
from helpdesk import create_app, migrate
from helpdesk.extensions import db, unit_of_work
from helpdesk.orm import Base, make_engine
from helpdesk.uow import UnitOfWork
from knowledge_base.search import search_service
from tests.factories import Factory
from tests.fakes import FakeEmbedder, ScriptedEngine

POSTGRES_URL = os.environ.get("COMPTOIR_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = os.environ.get("COMPTOIR_TEST_BACKENDS", "sqlite,postgres").split(",")
PASSWORD = "correct horse battery"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    yield from _fresh_postgres_database()


def _fresh_postgres_database() -> Iterator[str]:
    name = f"comptoir_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once per run; each test gets a copy."""
    path = tmp_path_factory.mktemp("schema") / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[str]:
    """A fresh PostgreSQL database migrated once per run; each test empties it afterwards."""
    databases = _fresh_postgres_database()
    url = next(databases)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    next(databases, None)


@pytest.fixture(params=BACKENDS)
def migrated_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A migrated, empty database: creating one per test would dominate the suite's time."""
    if request.param == "sqlite":
        copy = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), copy)
        yield f"sqlite:///{copy}"
        return
    url = request.getfixturevalue("migrated_postgres")
    yield url
    _empty_tables(url)


def _empty_tables(url: str) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app(migrated_url: str, tmp_path) -> Iterator[Flask]:
    app = create_app({"database_url": migrated_url, "instance_path": str(tmp_path / "instance"),
                      "secret_key": "test-secret", "testing": True},
                     embedder_factory=FakeEmbedder)
    yield app
    # Background training holds pooled connections: let it end before the pool goes.
    search_service(app).settle()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def silent_assistant(app: Flask) -> ScriptedEngine:
    """For tests of the chat transport and UI: the assistant owns new chats, says nothing."""
    engine = ScriptedEngine()
    responder.init_app(app, lambda: engine)
    return engine


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def uow(app: Flask) -> Iterator[UnitOfWork]:
    with app.app_context(), unit_of_work() as unit:
        yield unit


@pytest.fixture
def make(app: Flask) -> Factory:
    # No app context held here: test-client requests must each get their own, as in production.
    return Factory(app)


class AuthActions:
    """Log in through the real login form (CSRF included)."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str, password: str = PASSWORD):
        from tests.helpers import csrf_token

        token = csrf_token(self._client, "/login")
        return self._client.post("/login", data={"email": email, "password": password,
                                                 "csrf_token": token})

    def logout(self):
        from tests.helpers import csrf_token

        return self._client.post("/logout", data={"csrf_token": csrf_token(self._client, "/")})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
