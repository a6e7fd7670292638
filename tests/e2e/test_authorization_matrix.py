"""Who may call each API route: every caller against every endpoint, over HTTP.

The expected outcomes come from the two tables below, written from the product's
rules (docs/api.md), on purpose not read from ``helpdesk.auth.policy``: a change in
the policy must show up here as a failing row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select

from helpdesk.api.common import ApiBlueprint
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db
from helpdesk.models import ApiToken, Identity, Role, User
from tests.conftest import AuthActions
from tests.e2e.api_helpers import EVERY_SCOPE, ApiClient, error_of
from tests.factories import Factory
from tests.helpers import csrf_token

STAFF = {"admin", "supervisor", "agent"}
# Which roles hold each permission.
HOLDERS = {
    "conversations:read": STAFF,
    "conversations:write": STAFF,
    "customers:read": STAFF,
    "customers:write": STAFF,
    "customers:merge": {"admin", "supervisor"},
    "queues:read": STAFF,
    "queues:manage": {"admin", "supervisor"},
    "users:read": STAFF | {"knowledge_manager"},
    "users:manage": {"admin"},
    "account:manage": {"admin"},  # on another's account; everyone on their own (test_api_users)
    "knowledge:read": STAFF | {"knowledge_manager"},
    "knowledge:manage": {"admin", "knowledge_manager"},
    "email:ingest": {"admin"},  # a mail relay's token: it speaks for any sender
    "mailboxes:manage": {"admin"},  # mailbox passwords, the quarantine (web UI only)
    "metrics:read": {"admin", "supervisor"},  # a Prometheus scraper's token
    "wallboard:view": {"admin", "supervisor"},  # the queues' wall screen
    "macros:write": STAFF,  # their own macros
    "macros:manage": {"admin", "supervisor"},  # the shared macros
    "fields:manage": {"admin"},  # custom field definitions
    "calls:ingest": {"admin"},  # a PBX's token: it speaks for any caller
    "automation:manage": {"admin", "supervisor"},  # rules act on every conversation
    "views:manage": {"admin", "supervisor"},  # the saved views shared with every agent
    "sla:manage": {"admin", "supervisor"},  # calendars, SLA policies, breaches
    "privacy:manage": {"admin", "supervisor"},  # customers' data exports and erasures
    "retention:manage": {"admin"},  # how long data is kept, for every customer
    "reports:view": {"admin", "supervisor"},  # reports and the conversations behind them
    "segments:manage": {"admin", "supervisor"},  # the segments shared with everyone
    "customers:import": {"admin", "supervisor"},  # customers in bulk: CSV imports, exports
}
PUBLIC = None

# Every API route, with the permission it needs; {names} are ids of rows the fixture makes.
ENDPOINTS = [
    ("GET", "/health", PUBLIC),
    ("GET", "/me", "users:read"),
    ("GET", "/metrics", "metrics:read"),
    ("GET", "/conversations", "conversations:read"),
    ("POST", "/conversations", "conversations:write"),
    ("GET", "/conversations/{conversation}", "conversations:read"),
    ("PATCH", "/conversations/{conversation}", "conversations:write"),
    ("GET", "/conversations/{conversation}/messages", "conversations:read"),
    ("POST", "/conversations/{conversation}/reply", "conversations:write"),
    ("POST", "/conversations/{conversation}/notes", "conversations:write"),
    ("POST", "/conversations/{conversation}/assign", "conversations:write"),
    ("POST", "/conversations/{conversation}/status", "conversations:write"),
    ("POST", "/conversations/{conversation}/handoff", "conversations:write"),
    ("POST", "/conversations/{conversation}/follow-ups", "conversations:write"),
    ("PUT", "/conversations/{conversation}/required-skills", "conversations:write"),
    ("GET", "/customers", "customers:read"),
    ("POST", "/customers", "customers:write"),
    ("GET", "/customers/{customer}", "customers:read"),
    ("PATCH", "/customers/{customer}", "customers:write"),
    ("DELETE", "/customers/{customer}", "customers:write"),
    ("POST", "/customers/{customer}/identities", "customers:write"),
    ("DELETE", "/customers/{customer}/identities/{identity}", "customers:write"),
    ("GET", "/customers/{customer}/timeline", "customers:read"),
    ("POST", "/customers/{customer}/merge", "customers:merge"),
    ("POST", "/customers/{customer}/unmerge", "customers:merge"),
    ("GET", "/customers/{customer}/merges", "customers:read"),
    ("GET", "/customers/{customer}/merge-suggestions", "customers:read"),
    ("GET", "/organisations", "customers:read"),
    ("POST", "/organisations", "customers:write"),
    ("GET", "/organisations/{organisation}", "customers:read"),
    ("PATCH", "/organisations/{organisation}", "customers:write"),
    ("DELETE", "/organisations/{organisation}", "customers:write"),
    ("GET", "/organisations/{organisation}/members", "customers:read"),
    ("POST", "/organisations/{organisation}/members", "customers:write"),
    ("DELETE", "/organisations/{organisation}/members/{customer}", "customers:write"),
    ("GET", "/queues", "queues:read"),
    ("POST", "/queues", "queues:manage"),
    ("GET", "/queues/{queue}", "queues:read"),
    ("PATCH", "/queues/{queue}", "queues:manage"),
    ("GET", "/users", "users:read"),
    ("POST", "/users", "users:manage"),
    ("GET", "/users/{user}", "users:read"),
    ("PATCH", "/users/{user}", "users:manage"),
    ("PUT", "/users/{user}/presence", "account:manage"),
    ("GET", "/users/{user}/tokens", "account:manage"),
    ("POST", "/users/{user}/tokens", "account:manage"),
    ("DELETE", "/users/{user}/tokens/{token}", "account:manage"),
    ("GET", "/kb/articles", "knowledge:read"),
    ("POST", "/kb/articles", "knowledge:manage"),
    ("GET", "/kb/articles/{article}", "knowledge:read"),
    ("PATCH", "/kb/articles/{article}", "knowledge:manage"),
    ("POST", "/kb/articles/{article}/publish", "knowledge:manage"),
    ("POST", "/kb/articles/{article}/unpublish", "knowledge:manage"),
    ("POST", "/kb/articles/{article}/archive", "knowledge:manage"),
    ("GET", "/kb/articles/{article}/versions", "knowledge:read"),
    ("POST", "/kb/articles/{article}/versions/{number}/restore", "knowledge:manage"),
    ("GET", "/kb/search", "knowledge:read"),
    ("GET", "/kb/answer", "knowledge:read"),
    ("GET", "/kb/gaps", "knowledge:manage"),
    ("GET", "/kb/gaps/{cluster}", "knowledge:manage"),
    ("POST", "/kb/gaps/{cluster}/status", "knowledge:manage"),
    ("POST", "/kb/gaps/{cluster}/draft", "knowledge:manage"),
    ("POST", "/kb/gaps/refresh", "knowledge:manage"),
    ("GET", "/orders/{number}", "conversations:read"),
    ("POST", "/inbound/email", "email:ingest"),
    ("POST", "/calls/events", "calls:ingest"),
    ("GET", "/macros", "conversations:read"),
    ("POST", "/macros", "macros:write"),
    ("GET", "/macros/{macro}", "conversations:read"),
    ("PATCH", "/macros/{macro}", "macros:write"),
    ("DELETE", "/macros/{macro}", "macros:write"),
    ("POST", "/conversations/{conversation}/macros/{macro}", "conversations:write"),
    ("GET", "/custom-fields", "conversations:read"),
    ("POST", "/custom-fields", "fields:manage"),
    ("PATCH", "/custom-fields/{field}", "fields:manage"),
    ("DELETE", "/custom-fields/{field}", "fields:manage"),
    ("GET", "/wallboard", "wallboard:view"),
    ("GET", "/automation/rules", "automation:manage"),
    ("POST", "/automation/rules", "automation:manage"),
    ("GET", "/automation/rules/{rule}", "automation:manage"),
    ("PATCH", "/automation/rules/{rule}", "automation:manage"),
    ("DELETE", "/automation/rules/{rule}", "automation:manage"),
    ("GET", "/automation/rules/{rule}/runs", "automation:manage"),
    ("GET", "/automation/rules/{rule}/dry-run", "automation:manage"),
    ("POST", "/automation/dry-run", "automation:manage"),
    ("POST", "/conversations/bulk", "conversations:write"),
    ("POST", "/conversations/{conversation}/merge", "conversations:write"),
    ("POST", "/conversations/{conversation}/split", "conversations:write"),
    ("GET", "/views", "conversations:read"),
    ("POST", "/views", "conversations:read"),  # a shared one needs views:manage too
    ("GET", "/views/{view}", "conversations:read"),
    ("PATCH", "/views/{view}", "conversations:read"),
    ("DELETE", "/views/{view}", "conversations:read"),
    ("GET", "/views/{view}/conversations", "conversations:read"),
    ("GET", "/sla/calendars", "sla:manage"),
    ("POST", "/sla/calendars", "sla:manage"),
    ("GET", "/sla/calendars/{calendar}", "sla:manage"),
    ("PATCH", "/sla/calendars/{calendar}", "sla:manage"),
    ("DELETE", "/sla/calendars/{calendar}", "sla:manage"),
    ("POST", "/sla/calendars/{calendar}/holidays/seed", "sla:manage"),
    ("GET", "/sla/policies", "sla:manage"),
    ("POST", "/sla/policies", "sla:manage"),
    ("GET", "/sla/policies/{policy}", "sla:manage"),
    ("PATCH", "/sla/policies/{policy}", "sla:manage"),
    ("DELETE", "/sla/policies/{policy}", "sla:manage"),
    ("GET", "/sla/breaches", "sla:manage"),
    ("POST", "/customers/{customer}/export", "privacy:manage"),
    ("POST", "/customers/{customer}/erasure", "privacy:manage"),  # {}: no confirmation, 422
    ("GET", "/data-requests", "privacy:manage"),
    ("GET", "/data-requests/{request}", "privacy:manage"),
    ("GET", "/data-requests/{request}/archive", "privacy:manage"),
    ("GET", "/retention", "retention:manage"),
    ("PATCH", "/retention", "retention:manage"),
    ("GET", "/retention/preview", "retention:manage"),
    ("GET", "/reports/{report}", "reports:view"),
    ("GET", "/reports/{report}/drill", "reports:view"),  # without metric and key: 422
    ("GET", "/conversations/{conversation}/csat", "conversations:read"),
    ("PUT", "/conversations/{conversation}/csat", "conversations:write"),
    ("GET", "/segments", "customers:read"),
    ("POST", "/segments", "customers:read"),  # a shared one needs segments:manage too
    ("POST", "/segments/preview", "customers:read"),
    ("GET", "/segments/{segment}", "customers:read"),
    ("PATCH", "/segments/{segment}", "customers:read"),
    ("DELETE", "/segments/{segment}", "customers:read"),
    ("GET", "/segments/{segment}/customers", "customers:read"),
    ("POST", "/customers/imports", "customers:import"),
    ("GET", "/customers/imports", "customers:import"),
    ("GET", "/customers/imports/{import}", "customers:import"),
    ("GET", "/customers/imports/{import}/errors", "customers:import"),
    ("GET", "/customers/export", "customers:import"),
]
ROLES = ["admin", "supervisor", "agent", "knowledge_manager"]
TOKENS = ["admin token with the scope", "admin token without the scope",
          "agent token with the scope"]
CALLERS = [*ROLES, "anonymous", *TOKENS]


def expected_status(caller: str, permission: str | None) -> int | None:
    """401 or 403 when the caller must be refused, None when they must get through."""
    if permission is PUBLIC:
        return None
    if caller == "anonymous":
        return 401
    if caller == "admin token without the scope":
        return 403
    role = caller.split()[0]  # a token acts for its user's role, never beyond it
    return None if role in HOLDERS[permission] else 403


@dataclass
class World:
    """The module's app, a logged-in client per role, and the rows paths point at."""

    app: Flask
    make: Factory
    users: dict[str, User]
    sessions: dict[str, ApiClient]
    ids: dict[str, int]

    def client(self, caller: str, permission: str | None) -> ApiClient:
        if caller in self.sessions:
            return self.sessions[caller]
        if caller == "anonymous":
            return ApiClient(self.app.test_client())
        if caller == "admin token without the scope":
            scopes = [s for s in EVERY_SCOPE if s != permission]
        else:
            scopes = [permission] if permission else []
        owner = self.users[caller.split()[0]]
        return ApiClient(self.app.test_client(), self.make.token(owner, scopes))


@pytest.fixture(scope="module")
def world(module_app, module_make) -> World:
    users = {role: module_make.user(Role(role)) for role in ROLES}
    sessions = {role: _logged_in(module_app, user.email) for role, user in users.items()}
    conv = module_make.conversation()
    subject = module_make.user(Role.AGENT)  # the account the /users/{user} paths act on
    module_make.token(subject, ["conversations:read"])
    with module_app.app_context():
        identity = db.session.scalar(select(Identity.id).where(
            Identity.customer_id == conv.customer_id))
        token = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == subject.id))
    ids = {"conversation": conv.id, "customer": conv.customer_id, "identity": identity,
           "queue": module_make.queue().id, "user": subject.id, "token": token,
           "article": module_make.article().id, "number": 1,
           # subject's own macro: others get 404 (not 401/403) from the paths naming it
           "macro": module_make.macro(subject).id, "field": module_make.custom_field().id,
           "rule": module_make.rule().id, "view": module_make.saved_view(subject).id,
           "calendar": module_make.calendar().id, "policy": module_make.sla_policy().id,
           "organisation": module_make.organisation().id,
           "request": module_make.data_request(),
           "cluster": module_make.content_gap(), "report": "volumes",
           # subject's own segment: others get 404 from the paths naming it
           "segment": module_make.segment(subject).id, "import": module_make.customer_import()}
    return World(module_app, module_make, users, sessions, ids)


def _logged_in(app: Flask, email: str) -> ApiClient:
    client = app.test_client()
    AuthActions(client).login(email)
    return ApiClient(client, csrf=csrf_token(client, "/"))


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path", "permission"), ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_matrix(world, caller, method, path, permission):
    client = world.client(caller, permission)
    kwargs = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
    response = client.call(method, path.format(**world.ids), **kwargs)
    refused_with = expected_status(caller, permission)
    if refused_with is None:
        assert response.status_code not in (401, 403), response.get_json()
        assert response.status_code < 500, response.get_json()
    else:
        assert response.status_code == refused_with, response.get_json()
        assert error_of(response)["code"] == {401: "unauthenticated",
                                              403: "forbidden"}[refused_with]


def test_the_rules_the_issue_names():
    assert expected_status("knowledge_manager", "conversations:read") == 403
    assert expected_status("agent", "users:manage") == 403
    assert expected_status("admin token without the scope", "conversations:read") == 403
    assert expected_status("anonymous", "conversations:read") == 401


def test_the_table_lists_every_api_route(module_app):
    routes = set()
    for rule in module_app.url_map.iter_rules():
        if rule.endpoint.startswith("api_"):
            template = re.sub(r"<[^>]*:(\w+?)(?:_id)?>", r"{\1}",
                              rule.rule.removeprefix("/api/v1"))
            routes |= {(method, template) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == {(method, path) for method, path, _ in ENDPOINTS}


# --- fail closed ----------------------------------------------------------------------------

# Served by Flask (static files) and flask-smorest (the spec); the guard lets them through.
FRAMEWORK_ENDPOINTS = {"static", "api-docs.openapi_json"}


def test_every_view_declares_who_may_call_it(module_app):
    undeclared = sorted(
        endpoint for endpoint, view in module_app.view_functions.items()
        if endpoint not in FRAMEWORK_ENDPOINTS
        and getattr(view, "required_permission", None) is None
        and not getattr(view, "is_public", False))
    assert undeclared == []


def test_a_view_without_a_declaration_is_refused(app, make):
    app.add_url_rule("/api/v1/undeclared", "undeclared", lambda: "secret")
    api = ApiClient(app.test_client(), make.token(make.user(Role.ADMIN), EVERY_SCOPE))
    response = api.get("/undeclared")
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")


def test_an_api_view_cannot_be_declared_without_a_permission():
    blueprint = ApiBlueprint("api_probe", __name__)
    with pytest.raises(TypeError, match="needs @requires"):
        blueprint.route("/probe")(lambda: None)
    assert blueprint.route("/probe")(requires(Permission.USERS_READ)(lambda: None))
