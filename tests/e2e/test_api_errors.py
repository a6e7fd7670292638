"""Errors every API route shares: their JSON shape, body limits, authentication, CSRF."""

from __future__ import annotations

import pytest

from helpdesk.services import queries
from tests.conftest import AuthActions
from tests.e2e.api_helpers import ApiClient, error_of
from tests.helpers import csrf_token


# One app per backend for the whole module (quick); each test works on rows it creates.
@pytest.fixture
def conv(module_make):
    return module_make.conversation()


def test_a_body_over_the_configured_limit_is_413(module_app, module_admin, conv):
    limit = module_app.config["COMPTOIR"].max_content_length
    body = b'{"body": "' + b"x" * limit + b'"}'
    response = module_admin.post(f"/conversations/{conv.id}/reply", data=body,
                                 content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_entity_too_large"


@pytest.mark.parametrize(("data", "content_type", "status", "code"), [
    ("body=hello", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ("hello", "text/plain", 415, "unsupported_media_type"),
    ("", None, 415, "unsupported_media_type"),
    ('{"body": "hello"', "application/json", 400, "bad_request"),
    ("", "application/json", 422, "validation_failed"),  # no body: required fields missing
    ('["hello"]', "application/json", 422, "validation_failed"),
])
def test_a_body_that_is_not_a_json_object_is_refused(module_admin, conv, data, content_type,
                                                     status, code):
    response = module_admin.post(f"/conversations/{conv.id}/reply", data=data,
                                 content_type=content_type)
    assert (response.status_code, error_of(response)["code"]) == (status, code)


def test_an_unexpected_error_is_500_without_a_traceback(module_admin, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("password=hunter2 at line 42")

    monkeypatch.setattr(queries, "list_conversations", broken)
    response = module_admin.get("/conversations")
    text = response.get_data(as_text=True)
    assert (response.status_code, error_of(response)["code"]) == (500, "internal_error")
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/nowhere", 404, "not_found"),
    ("DELETE", "/conversations", 405, "method_not_allowed"),
])
def test_routing_errors_under_the_api_are_json(module_admin, method, path, status, code):
    response = module_admin.call(method, path)
    assert (response.status_code, error_of(response)["code"]) == (status, code)


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer cpt_not-a-real-token"}, {"Authorization": "Basic abc"}])
def test_without_valid_credentials_it_is_401(module_app, headers):
    response = ApiClient(module_app.test_client()).get("/conversations", headers=headers)
    assert (response.status_code, error_of(response)["code"]) == (401, "unauthenticated")


def test_health_needs_no_credentials(module_app):
    response = ApiClient(module_app.test_client()).get("/health")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_me_describes_the_caller(module_admin):
    body = module_admin.get("/me").get_json()
    assert (body["role"], "users:read" in body["scopes"]) == ("admin", True)


def test_a_revoked_token_stops_working(module_app, module_make):
    user = module_make.user()
    secret = module_make.token(user, ["users:read", "account:manage"])
    api = ApiClient(module_app.test_client(), secret)
    token_id = api.get(f"/users/{user.id}/tokens").get_json()["items"][0]["id"]
    assert api.delete(f"/users/{user.id}/tokens/{token_id}").status_code == 204
    assert api.get("/me").status_code == 401


def test_a_browser_session_must_prove_csrf_to_write(module_app, module_make, conv):
    client = module_app.test_client()
    AuthActions(client).login(module_make.user().email)
    session_api = ApiClient(client)
    assert session_api.get(f"/conversations/{conv.id}").status_code == 200  # reads need none
    refused = session_api.post(f"/conversations/{conv.id}/notes", json={"body": "Hi"})
    assert (refused.status_code, error_of(refused)["code"]) == (400, "csrf_failed")
    accepted = session_api.post(f"/conversations/{conv.id}/notes", json={"body": "Hi"},
                                headers={"X-CSRFToken": csrf_token(client, "/")})
    assert accepted.status_code == 201


def test_a_bearer_token_needs_no_csrf(module_app, module_make, conv):
    api = ApiClient(module_app.test_client(),
                    module_make.token(module_make.user(), ["conversations:write"]))
    assert api.post(f"/conversations/{conv.id}/notes", json={"body": "Hi"}).status_code == 201
