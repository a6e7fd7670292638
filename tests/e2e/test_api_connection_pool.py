"""A request holds at most one pooled connection; an exhausted pool answers 503, not a hang."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from helpdesk import create_app
from helpdesk.extensions import db
from knowledge_base.search import search_service
from tests.conftest import AuthActions
from tests.e2e.api_helpers import ApiClient, error_of
from tests.factories import Factory
from tests.fakes import FakeEmbedder
from tests.helpers import csrf_token


@pytest.fixture
def one_connection_app(migrated_url: str, tmp_path) -> Iterator[Flask]:
    if migrated_url.startswith("sqlite"):
        pytest.skip("SQLite opens a connection per session: there is no pool to exhaust")
    app = create_app({"database_url": migrated_url, "instance_path": str(tmp_path / "instance"),
                      "secret_key": "test-secret", "testing": True,
                      "database_pool_size": 1, "database_pool_timeout": 2},
                     embedder_factory=FakeEmbedder)
    yield app
    search_service(app).settle()
    with app.app_context():
        db.engine.dispose()


def test_a_token_request_writes_through_a_pool_of_one(one_connection_app):
    make = Factory(one_connection_app)
    conversation = make.conversation()
    api = ApiClient(one_connection_app.test_client(),
                    make.token(make.user(), ["conversations:write"]))
    # The first call also stamps the token's last use; the second finds it fresh.
    for body in ("First note", "Second note"):
        response = api.post(f"/conversations/{conversation.id}/notes", json={"body": body})
        assert response.status_code == 201, response.get_data(as_text=True)


def test_a_browser_session_writes_through_a_pool_of_one(one_connection_app):
    make = Factory(one_connection_app)
    conversation = make.conversation()
    client = one_connection_app.test_client()
    AuthActions(client).login(make.user().email)
    response = ApiClient(client, csrf=csrf_token(client, "/")).post(
        f"/conversations/{conversation.id}/notes", json={"body": "Hi"})
    assert response.status_code == 201, response.get_data(as_text=True)


def test_no_free_connection_is_503_with_retry_after(one_connection_app):
    make = Factory(one_connection_app)
    api = ApiClient(one_connection_app.test_client(), make.token(make.user(), ["users:read"]))
    with one_connection_app.app_context(), db.engine.connect():
        response = api.get("/me")
    assert (response.status_code, error_of(response)["code"]) == (503, "database_busy")
    assert response.headers["Retry-After"] == "1"
    assert api.get("/me").status_code == 200


def test_an_agent_reply_goes_through_a_pool_of_one(one_connection_app):
    make = Factory(one_connection_app)
    conversation = make.conversation()
    api = ApiClient(one_connection_app.test_client(),
                    make.token(make.user(), ["conversations:write"]))
    response = api.post(f"/conversations/{conversation.id}/reply", json={"body": "On its way"})
    assert response.status_code == 201, response.get_data(as_text=True)
