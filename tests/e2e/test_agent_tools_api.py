"""The agent tools over the REST API: macros (manage, apply), custom field definitions and
values on PATCH /conversations."""

from __future__ import annotations

import pytest

from helpdesk.models import Role
from tests.e2e.api_helpers import EVERY_SCOPE, ApiClient, error_of


@pytest.fixture(scope="module")
def supervisor(module_app, module_make) -> ApiClient:
    return ApiClient(module_app.test_client(), module_make.token(
        module_make.user(Role.SUPERVISOR), EVERY_SCOPE))


@pytest.fixture(scope="module")
def agent_user(module_make):
    return module_make.user(Role.AGENT, email="agent.api@staff.example", name="Agent Api")


@pytest.fixture(scope="module")
def agent(module_app, module_make, agent_user) -> ApiClient:
    return ApiClient(module_app.test_client(), module_make.token(agent_user, EVERY_SCOPE))


def created(response):
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_macro_crud_and_scopes(agent, supervisor, module_make):
    mine = created(agent.post("/macros", json={
        "name": "Api thanks", "body": "Thanks {{ customer.name }}",
        "actions": {"status": "pending", "add_tags": ["Thanked"]}}))
    assert (mine["shared"], mine["actions"]) == (False, {"status": "pending",
                                                         "add_tags": ["thanked"]})
    shared = created(supervisor.post("/macros", json={"name": "Api shared", "body": "Hi",
                                                      "shared": True}))
    names = [m["name"] for m in agent.get("/macros").get_json()["items"]]
    assert "Api thanks" in names and "Api shared" in names
    assert "Api thanks" not in [m["name"] for m in supervisor.get("/macros").get_json()["items"]]
    assert supervisor.get(f"/macros/{mine['id']}").status_code == 404
    patched = agent.patch(f"/macros/{mine['id']}", json={"name": "Api thanks 2"})
    assert patched.get_json()["name"] == "Api thanks 2"
    refused = agent.patch(f"/macros/{shared['id']}", json={"name": "Taken over"})
    assert (refused.status_code, error_of(refused)["code"]) == (403, "forbidden")
    assert agent.delete(f"/macros/{mine['id']}").status_code == 204
    assert agent.get(f"/macros/{mine['id']}").status_code == 404


def test_an_agent_cannot_create_a_shared_macro(agent):
    response = agent.post("/macros", json={"name": "Everyone's", "body": "x", "shared": True})
    assert response.status_code == 403
    assert error_of(response)["fields"] == {"shared": [
        "only supervisors and admins manage shared macros (macros:manage)"]}


@pytest.mark.parametrize(("body", "field", "text"), [
    ({"name": "Bad", "body": "Hi {{customer.firstname}}"}, "body", "{{customer.firstname}}"),
    ({"name": "Bad", "body": "x", "actions": {"status": "closed-ish"}}, "actions", "status"),
    ({"name": "Bad", "body": "x", "actions": {"assign": 1}}, "actions", "assign"),
    ({"name": "Bad", "body": ""}, "body", "a text or at least one action"),
])
def test_a_bad_macro_is_refused_naming_what(agent, body, field, text):
    response = agent.post("/macros", json=body)
    assert response.status_code == 422, response.get_json()
    error = error_of(response)
    assert field in str(error["fields"]) and text in str(error["fields"])


def test_apply_without_then_with_send(agent, module_make):
    conv = module_make.conversation(module_make.customer("Ada Client"))
    macro = created(agent.post("/macros", json={
        "name": "Api apply", "body": "Hello {{customer.name}}, #{{conversation.id}}",
        "actions": {"priority": "urgent", "add_tags": ["applied"]}}))
    dry = agent.post(f"/conversations/{conv.id}/macros/{macro['id']}", json={"send": False})
    assert dry.status_code == 200, dry.get_json()
    body = dry.get_json()
    assert body["text"] == f"Hello Ada Client, #{conv.id}" and body["message"] is None
    assert (body["conversation"]["priority"], body["conversation"]["tags"]) == (
        "urgent", ["applied"])
    sent = agent.post(f"/conversations/{conv.id}/macros/{macro['id']}", json={"send": True})
    message = sent.get_json()["message"]
    assert (message["body"], message["internal"]) == (f"Hello Ada Client, #{conv.id}", False)
    assert sent.get_json()["conversation"]["status"] == "open"


def test_apply_on_a_closed_conversation_is_a_conflict(agent, module_make):
    conv = module_make.conversation()
    agent.post(f"/conversations/{conv.id}/status", json={"status": "closed"})
    macro = created(agent.post("/macros", json={"name": "Api closed", "body": "x"}))
    response = agent.post(f"/conversations/{conv.id}/macros/{macro['id']}", json={"send": True})
    assert (response.status_code, error_of(response)["code"]) == (409, "conflict")


def test_custom_fields_defined_by_admins_and_checked_on_conversations(module_admin, agent,
                                                                      module_make):
    assert agent.post("/custom-fields", json={}).status_code == 403
    created(module_admin.post("/custom-fields", json={
        "key": "api_carrier", "label": "Carrier", "type": "select", "options": ["DHL", "UPS"]}))
    weight = created(module_admin.post("/custom-fields", json={
        "key": "api_weight", "label": "Weight", "type": "number"}))
    keys = [f["key"] for f in agent.get("/custom-fields").get_json()["items"]]
    assert {"api_carrier", "api_weight"} <= set(keys)
    conv = module_make.conversation()
    ok = agent.patch(f"/conversations/{conv.id}", json={
        "custom_fields": {"api_carrier": "DHL", "api_weight": 1.5}})
    assert ok.get_json()["custom_fields"] == {"api_carrier": "DHL", "api_weight": 1.5}
    bad = agent.patch(f"/conversations/{conv.id}", json={"custom_fields": {"api_weight": "1"}})
    assert bad.status_code == 422
    assert error_of(bad)["fields"] == {"custom_fields.api_weight": [
        "Weight (api_weight): must be a number"]}
    unknown = agent.patch(f"/conversations/{conv.id}", json={"custom_fields": {"nope": 1}})
    assert list(error_of(unknown)["fields"]) == ["custom_fields.nope"]
    changed = module_admin.patch(f"/custom-fields/{weight['id']}",
                                 json={"required_on_solve": True})
    assert changed.get_json()["required_on_solve"] is True
    fixed = module_admin.patch(f"/custom-fields/{weight['id']}", json={"type": "text"})
    assert fixed.status_code == 422  # not a field one may send
    assert module_admin.delete(f"/custom-fields/{weight['id']}").status_code == 204
