"""Fixtures: ``app``, ``client``, ``runner``, ``auth``, ``uow``, ``make``; SQLite and PostgreSQL.

Database-backed tests run once per backend: ``sqlite`` (a file in tmp_path) and
``postgres`` (a fresh database created on COMPTOIR_TEST_POSTGRES_URL's server and
dropped afterwards). Set COMPTOIR_TEST_BACKENDS=sqlite to skip PostgreSQL locally.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text

from helpdesk import create_app, migrate
from helpdesk.extensions import db, unit_of_work
from helpdesk.uow import UnitOfWork
from tests.factories import Factory

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


@pytest.fixture
def app(database_url: str, tmp_path) -> Iterator[Flask]:
    app = create_app({"database_url": database_url, "instance_path": str(tmp_path / "instance"),
                      "secret_key": "test-secret", "testing": True})
    with app.app_context():
        migrate.upgrade(db.engine)
    yield app
    with app.app_context():
        db.engine.dispose()


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
def make(app: Flask) -> Iterator[Factory]:
    with app.app_context():
        yield Factory(app)


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
