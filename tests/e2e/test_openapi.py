"""GET /api/v1/openapi.json: valid OpenAPI 3, complete, and true to what the routes answer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy import select
from werkzeug.test import TestResponse

from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import ApiToken, ConversationStatus, Identity, Role
from helpdesk.privacy import exports, folders
from helpdesk.services import conversations, customer_merges
from tests.e2e.api_helpers import ApiClient

METHODS = ("get", "post", "put", "patch", "delete")
REQUIRED_QUERIES = {("get", "/kb/search"): "?q=returns", ("get", "/kb/answer"): "?q=returns",
                    ("get", "/reports/volumes/drill"): "?metric=channel&key=email"}
RAW_EMAIL = b"From: ada@example.com\r\nMessage-ID: <spec@example.com>\r\n\r\nHello\r\n"


@pytest.fixture(scope="module")
def spec(module_app) -> dict[str, Any]:
    response = module_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, operation) for path, item in spec["paths"].items()
            for method, operation in item.items() if method in METHODS]


def test_the_spec_is_valid_openapi_3(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_the_security_schemes_are_declared_and_public_routes_say_so(spec):
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "session"}
    assert spec["security"] == [{"bearer": []}, {"session": []}]
    public = [path for _method, path, op in operations(spec) if op.get("security") == []]
    assert public == ["/api/v1/health"]


def test_every_operation_documents_its_permission_and_errors(spec):
    for method, path, op in operations(spec):
        where = f"{method.upper()} {path}"
        assert op["tags"] and op["summary"], where
        codes = set(op["responses"])
        if op.get("security") != []:
            assert {"401", "403"} <= codes and op["x-permission"], where
        if "{" in path:
            assert "404" in codes, where
        if "application/json" in op.get("requestBody", {}).get("content", {}):
            assert {"400", "413", "415", "422"} <= codes, where


def test_every_api_route_is_in_the_spec_and_nothing_else(module_app, spec):
    routes = set()
    for rule in module_app.url_map.iter_rules():
        if rule.endpoint.startswith("api_"):
            path = re.sub(r"<(?:[^>:]*:)?(\w+)>", r"{\1}", rule.rule)
            routes |= {(m.lower(), path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == {(method, path) for method, path, _ in operations(spec)}


def test_every_operation_answers_as_documented(module_app, module_make, spec):
    """Call each operation as an admin with a valid request; the status must be documented
    and a success, and the body must match the documented schema."""
    admin = module_make.user(Role.ADMIN)
    rows = _rows(module_make, admin)
    api = ApiClient(module_app.test_client(), module_make.token(admin, list(_scopes(spec))))
    validators = _Validators(spec)
    problems = []
    # Deletions last, so the rows they remove serve the other calls first.
    for method, path, op in sorted(operations(spec), key=lambda o: o[0] == "delete"):
        url = path.removeprefix("/api/v1").format(**_path_ids(method, path, rows))
        url += REQUIRED_QUERIES.get((method, url), "")
        response = api.call(method.upper(), url, **_request_body(method, path, rows))
        status = str(response.status_code)
        where = f"{method.upper()} {url} → {status}"
        if status not in op["responses"]:
            problems.append(f"{where}: undocumented status {response.get_json()}")
        elif not 200 <= response.status_code < 300:
            problems.append(f"{where}: a valid request failed {response.get_json()}")
        elif response.status_code != 204:
            problems += [f"{where}: {e}" for e in validators.errors(
                op["responses"][status], response)]
        response.close()  # a file download streams from an open file
    assert problems == []


def _rows(make, admin) -> dict[str, int]:
    customer = make.customer()
    conv = make.conversation(customer)
    agent = make.user(Role.AGENT)
    make.token(agent, ["conversations:read"])
    with make.app.app_context():
        identity = db.session.scalar(select(Identity.id).where(
            Identity.customer_id == conv.customer_id))
        token = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == agent.id))
    return {"conversation_id": conv.id, "customer_id": conv.customer_id,
            "identity_id": identity, "queue_id": make.queue().id, "user_id": agent.id,
            "token_id": token, "lone_customer": make.customer().id,
            "duplicate_customer": make.customer().id, "article_id": make.article().id,
            "number": 1, "macro_id": make.macro(admin).id, "field_id": make.custom_field().id,
            "rule_id": make.rule().id, "merge_source": make.conversation(customer).id,
            "view_id": make.saved_view(admin).id,  # the admin's own
            "calendar_id": make.calendar().id, "policy_id": make.sla_policy().id,
            "cluster_id": make.content_gap(), "request_id": _built_export(make),
            "erased_customer": make.customer().id,
            "unmerge_source": _merged_into(make, conv.customer_id),
            "organisation_id": make.organisation().id,
            "lone_organisation": make.organisation().id, "report": "volumes",
            "solved_conversation": _solved(make), "segment_id": make.segment(admin).id,
            "import_id": make.customer_import()}


def _solved(make) -> int:
    """A solved conversation, which may be rated (PUT …/csat)."""
    conversation = make.conversation()
    with make.app.app_context(), unit_of_work() as uow:
        conversations.change_status(uow, SYSTEM, conversation.id, ConversationStatus.SOLVED)
    return conversation.id


def _merged_into(make, customer_id: int) -> int:
    """A customer already merged into ``customer_id`` (for POST …/unmerge)."""
    source = make.customer()
    with make.app.app_context(), unit_of_work() as uow:
        customer_merges.merge_customers(uow, SYSTEM, source.id, customer_id)
    return source.id


def _built_export(make) -> int:
    """An export request whose archive is ready to download."""
    request_id = make.data_request()
    with make.app.app_context():
        exports.build(unit_of_work, request_id, folders())
    return request_id


def _path_ids(method: str, path: str, rows: dict[str, int]) -> dict[str, int | str]:
    if path.endswith("/csat"):
        return {**rows, "conversation_id": rows["solved_conversation"]}
    if path.endswith("/erasure"):
        return {**rows, "customer_id": rows["erased_customer"]}
    if (method, path) == ("delete", "/api/v1/customers/{customer_id}"):
        return {**rows, "customer_id": rows["lone_customer"]}  # one without conversations
    if (method, path) == ("delete", "/api/v1/organisations/{organisation_id}"):
        return {**rows, "organisation_id": rows["lone_organisation"]}  # members removed apart
    if path == "/api/v1/orders/{number}":
        return {**rows, "number": "A1001"}  # one of the demo's sample orders
    return rows


def _body(method: str, path: str, rows: dict[str, int]) -> dict[str, Any] | None:
    """A valid request body for each operation that takes one."""
    bodies = {
        ("post", "/conversations"): {"customer_id": rows["customer_id"], "channel": "email",
                                     "first_message": {"body": "Hello"}},
        ("patch", "/conversations/{conversation_id}"): {"priority": "high", "tags": ["vip"]},
        ("post", "/conversations/{conversation_id}/reply"): {"body": "Hi", "client_id": "c-1"},
        ("post", "/conversations/{conversation_id}/notes"): {"body": "Call back"},
        ("post", "/conversations/{conversation_id}/assign"): {"assignee_id": rows["user_id"]},
        ("post", "/conversations/{conversation_id}/status"): {"status": "pending"},
        ("post", "/conversations/{conversation_id}/handoff"): {"reason": "asked_for_human"},
        ("put", "/conversations/{conversation_id}/required-skills"): {"skills": ["fr"]},
        ("post", "/conversations/{conversation_id}/follow-ups"): {
            "email": "follow@example.com", "description": "It broke"},
        ("post", "/customers"): {"name": "New", "identities": [
            {"kind": "email", "value": "new@example.com"}]},
        ("patch", "/customers/{customer_id}"): {"timezone": "Europe/Paris"},
        ("post", "/customers/{customer_id}/identities"): {"kind": "phone",
                                                          "value": "+33612345678"},
        ("post", "/customers/{customer_id}/merge"): {"source_id": rows["duplicate_customer"]},
        ("post", "/customers/{customer_id}/unmerge"): {"source_id": rows["unmerge_source"]},
        ("post", "/organisations"): {"name": "Spec organisation",
                                     "domains": ["spec-organisation.example"]},
        ("patch", "/organisations/{organisation_id}"): {"notes": "Pays at 30 days"},
        ("post", "/organisations/{organisation_id}/members"): {
            "customer_id": rows["customer_id"]},
        ("post", "/queues"): {"name": "Returns", "channels": ["email"]},
        ("patch", "/queues/{queue_id}"): {"member_ids": [rows["user_id"]]},
        ("post", "/users"): {"email": "new@staff.example", "role": "agent",
                             "password": "long enough pw"},
        ("patch", "/users/{user_id}"): {"skills": ["fr"]},
        ("put", "/users/{user_id}/presence"): {"presence": "online"},
        ("post", "/users/{user_id}/tokens"): {"name": "ci", "scopes": ["users:read"]},
        ("post", "/kb/articles"): {"title": "Returns", "example_questions": ["Refund?"]},
        ("patch", "/kb/articles/{article_id}"): {"body": "Within 60 days."},
        ("post", "/calls/events"): {"call_id": "spec-1", "event": "ringing",
                                    "caller": "+33612345678", "timestamp": 1795000000},
        ("post", "/macros"): {"name": "Spec macro", "body": "Hi {{customer.name}}",
                              "actions": {"status": "pending", "add_tags": ["spec"]}},
        ("patch", "/macros/{macro_id}"): {"name": "Renamed macro"},
        ("post", "/conversations/{conversation_id}/macros/{macro_id}"): {"send": True},
        ("post", "/custom-fields"): {"key": "order_number", "label": "Order",
                                     "type": "select", "options": ["A", "B"]},
        ("patch", "/custom-fields/{field_id}"): {"label": "Renamed field"},
        ("post", "/automation/rules"): {
            "name": "Spec rule", "trigger": "email_received",
            "conditions": {"all": [{"field": "subject", "op": "contains", "value": "refund"}]},
            "actions": [{"type": "set_priority", "priority": "high"}]},
        ("patch", "/automation/rules/{rule_id}"): {"active": False},
        ("post", "/automation/dry-run"): {"trigger": "pending_for", "delay_minutes": 4320},
        ("post", "/conversations/bulk"): {"conversation_ids": [rows["conversation_id"]],
                                          "action": "priority", "priority": "urgent"},
        ("post", "/conversations/{conversation_id}/merge"): {
            "source_id": rows["merge_source"]},
        ("post", "/conversations/{conversation_id}/split"): {"seq": 1},
        ("post", "/views"): {"name": "Spec view", "filters": {
            "statuses": ["open"], "assignee": "me", "q": "parcel", "sort": "recent"}},
        ("patch", "/views/{view_id}"): {"name": "Renamed view"},
        ("post", "/sla/calendars"): {"name": "Spec hours", "timezone": "Europe/Paris",
                                     "hours": {"mon": ["09:00-12:30", "13:30-18:00"]},
                                     "holidays": [{"date": "2026-12-25", "name": "Noël"}]},
        ("patch", "/sla/calendars/{calendar_id}"): {"hours": {"sat": ["10:00-16:00"]}},
        ("post", "/sla/calendars/{calendar_id}/holidays/seed"): {"country": "FR",
                                                                 "year": 2026},
        ("post", "/sla/policies"): {"name": "Spec policy", "warning_minutes": 15,
                                    "breach_actions": ["notify", "raise_priority"],
                                    "targets": [{"priority": "high", "first_response": 30}]},
        ("patch", "/sla/policies/{policy_id}"): {"pause_statuses": ["pending"]},
        ("post", "/kb/gaps/{cluster_id}/status"): {"status": "dismissed"},
        ("post", "/customers/{customer_id}/erasure"): {
            "confirm": f"ERASE {rows['erased_customer']}"},
        ("patch", "/retention"): {"closed_email": 90, "email_sources": None},
        ("put", "/conversations/{conversation_id}/csat"): {"rating": 4, "comment": "Kind"},
        ("post", "/segments"): {"name": "Spec segment", "conditions": {"all": [
            {"field": "contacts", "op": "gte", "value": 3, "days": 30}]}},
        ("post", "/segments/preview"): {"conditions": {"any": [
            {"field": "last_csat", "op": "lte", "value": 2}]}},
        ("patch", "/segments/{segment_id}"): {"name": "Renamed segment"},
    }
    return bodies.get((method, path.removeprefix("/api/v1")))


def _request_body(method: str, path: str, rows: dict[str, int]) -> dict[str, Any]:
    if (method, path) == ("post", "/api/v1/inbound/email"):
        return {"data": RAW_EMAIL, "content_type": "message/rfc822"}
    if (method, path) == ("post", "/api/v1/customers/imports"):
        return {"data": b"name,email\nSpec,spec.import@example.com\n",
                "content_type": "text/csv"}
    return {"json": _body(method, path, rows)}


def _scopes(spec: dict[str, Any]) -> set[str]:
    return {op["x-permission"] for _m, _p, op in operations(spec) if "x-permission" in op}


class _Validators:
    """Checks a body against a documented response, ``$ref``s resolved within the spec."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._spec = spec
        self._registry = Registry().with_resource(
            "urn:spec", Resource.from_contents(spec, default_specification=DRAFT4))

    def errors(self, response: dict[str, Any], answer: TestResponse) -> list[str]:
        if "$ref" in response:
            response = self._spec["components"]["responses"][response["$ref"].split("/")[-1]]
        if "application/json" not in response["content"]:  # text: the Prometheus metrics
            return [] if answer.mimetype in response["content"] else [
                f"{answer.mimetype} is not the documented {', '.join(response['content'])}"]
        schema = response["content"]["application/json"]["schema"]
        validator = OAS30Validator({"$ref": "urn:spec" + schema["$ref"]},
                                   registry=self._registry)
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(answer.get_json())]
