"""One app per test module and backend (``module_app``): building an app and its database
once per module keeps the API suites quick. Tests sharing it assert only about rows they
create themselves."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import pytest
from flask import Flask

from helpdesk import create_app, migrate
from helpdesk.extensions import db
from knowledge_base.search import search_service
from tests.conftest import BACKENDS, _fresh_postgres_database
from tests.e2e.api_helpers import ApiClient, admin_client
from tests.factories import Factory
from tests.fakes import FakeEmbedder


@pytest.fixture(scope="module", params=BACKENDS)
def module_app(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("module_app")
    database = (contextmanager(_fresh_postgres_database)() if request.param == "postgres"
                else nullcontext(f"sqlite:///{folder / 'test.db'}"))
    with database as url:
        app = create_app({"database_url": url, "instance_path": str(folder / "instance"),
                          "secret_key": "test-secret", "testing": True},
                         embedder_factory=FakeEmbedder)
        with app.app_context():
            migrate.upgrade(db.engine)
        yield app
        search_service(app).settle()  # background training holds pooled connections
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def module_make(module_app: Flask) -> Factory:
    return Factory(module_app)


@pytest.fixture(scope="module")
def module_admin(module_app: Flask, module_make: Factory) -> ApiClient:
    """An admin's client (a token with every scope) on the module's app."""
    return admin_client(module_app, module_make)
