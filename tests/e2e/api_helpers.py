"""Calling /api/v1 in tests: a client sending a Bearer token, and reading our errors."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from helpdesk.models import Role
from tests.factories import Factory

PREFIX = "/api/v1"
EVERY_SCOPE = [
    "conversations:read", "conversations:write", "customers:read", "customers:write",
    "customers:merge", "queues:read", "queues:manage", "users:read", "users:manage",
    "audit:read", "knowledge:read", "knowledge:manage", "account:manage", "email:ingest",
    "metrics:read", "wallboard:view",
    "macros:write", "macros:manage", "fields:manage", "calls:ingest", "views:manage",
    "automation:manage", "sla:manage",
    "privacy:manage", "retention:manage",
    "segments:manage", "customers:import",
]


class ApiClient:
    """``client.get("/conversations")`` → GET /api/v1/conversations with the token."""

    def __init__(self, client: FlaskClient, secret: str | None = None, *,
                 csrf: str | None = None) -> None:
        """``secret``: a token to send; ``csrf``: the token a logged-in client writes with."""
        self.client = client
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        if csrf:
            self.headers["X-CSRFToken"] = csrf

    def call(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(PREFIX + path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("DELETE", path, **kwargs)


def error_of(response: TestResponse) -> dict[str, Any]:
    """The ``error`` object of an error response (fails if the body is not our shape)."""
    body = response.get_json()
    assert body is not None and set(body) == {"error"}, response.get_data(as_text=True)
    return body["error"]


def admin_client(app: Flask, make: Factory) -> ApiClient:
    """A client holding an admin's token with every scope."""
    return ApiClient(app.test_client(), make.token(make.user(Role.ADMIN), EVERY_SCOPE))
