"""/api/v1: bulk actions with a result per conversation, merging and splitting, full-text
search and sort on the list."""

from __future__ import annotations

import pytest

from helpdesk.models import Role
from tests.e2e.api_helpers import ApiClient, error_of
from tests.factories import Factory


@pytest.fixture
def api(module_admin) -> ApiClient:
    return module_admin


@pytest.fixture
def make(module_make) -> Factory:
    return module_make


def client_of(module_app, make, role, scopes=("conversations:read", "conversations:write")):
    return ApiClient(module_app.test_client(), make.token(make.user(role), list(scopes)))


# --- bulk ---------------------------------------------------------------------------------


def test_bulk_reports_each_conversation(api, make):
    first, second, closed = make.conversation(), make.conversation(), make.conversation()
    api.post(f"/conversations/{closed.id}/status", json={"status": "closed"})
    response = api.post("/conversations/bulk", json={
        "conversation_ids": [first.id, second.id, closed.id, 2_000_000_000, first.id],
        "action": "status", "status": "solved"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["succeeded"], body["failed"]) == (2, 2)
    results = {r["conversation_id"]: r for r in body["results"]}
    assert list(results) == [first.id, second.id, closed.id, 2_000_000_000]
    assert results[first.id] == {"conversation_id": first.id, "ok": True, "code": None,
                                 "error": None}
    assert (results[closed.id]["code"], results[2_000_000_000]["code"]) == (
        "invalid_transition", "not_found")
    assert "closed" in results[closed.id]["error"]
    assert api.get(f"/conversations/{second.id}").get_json()["status"] == "solved"


@pytest.mark.parametrize(("body", "field"), [
    ({"conversation_ids": [], "action": "assign"}, "conversation_ids"),
    ({"conversation_ids": [1], "action": "status"}, "status"),
    ({"conversation_ids": [1], "action": "queue"}, "queue_id"),
    ({"conversation_ids": [1], "action": "explode"}, "action"),
    ({"conversation_ids": list(range(1, 202)), "action": "assign"}, "conversation_ids"),
])
def test_bulk_refuses_bad_requests_naming_the_field(api, body, field):
    response = api.post("/conversations/bulk", json=body)
    assert response.status_code == 422
    assert field in error_of(response)["fields"], error_of(response)


def test_bulk_needs_the_write_permission(module_app, make):
    conv = make.conversation()
    reader = client_of(module_app, make, Role.AGENT, scopes=["conversations:read"])
    response = reader.post("/conversations/bulk", json={
        "conversation_ids": [conv.id], "action": "priority", "priority": "low"})
    assert response.status_code == 403


def test_bulk_assign_reports_an_assignee_who_cannot_work(api, make):
    conv = make.conversation()
    writer = make.user(Role.KNOWLEDGE_MANAGER)
    body = api.post("/conversations/bulk", json={
        "conversation_ids": [conv.id], "action": "assign", "assignee_id": writer.id}).get_json()
    assert body["results"][0]["code"] == "validation_failed"


# --- merge and split ----------------------------------------------------------------------


def test_merge_then_split_back_out(api, make):
    customer = make.customer()
    target, source = make.conversation(customer, body="A"), make.conversation(customer, body="B")
    merged = api.post(f"/conversations/{target.id}/merge", json={"source_id": source.id})
    assert merged.status_code == 200, merged.get_json()
    assert merged.get_json()["last_seq"] == 2
    assert api.get(f"/conversations/{source.id}").get_json()["status"] == "closed"
    split = api.post(f"/conversations/{target.id}/split", json={"seq": 2, "subject": "B"})
    assert split.status_code == 201, split.get_json()
    new = split.get_json()
    assert (new["subject"], new["customer"]["id"]) == ("B", customer.id)
    messages = api.get(f"/conversations/{new['id']}/messages").get_json()["items"]
    assert [(m["seq"], m["body"]) for m in messages] == [(1, "B")]
    again = api.post(f"/conversations/{new['id']}/split",
                     json={"seq": 1, "target_id": target.id})
    assert again.status_code == 422  # its only message: merge instead
    assert list(error_of(again)["fields"]) == ["seq"]


def test_moving_between_customers_needs_a_supervisor_s_confirmation(module_app, api, make):
    target, source = make.conversation(), make.conversation()
    agent = client_of(module_app, make, Role.AGENT)
    unconfirmed = agent.post(f"/conversations/{target.id}/merge", json={"source_id": source.id})
    assert (unconfirmed.status_code, list(error_of(unconfirmed)["fields"])) == (
        409, ["confirm_other_customer"])
    by_agent = agent.post(f"/conversations/{target.id}/merge",
                          json={"source_id": source.id, "confirm_other_customer": True})
    assert by_agent.status_code == 403
    supervisor = client_of(module_app, make, Role.SUPERVISOR,
                           scopes=["conversations:write", "customers:merge"])
    confirmed = supervisor.post(f"/conversations/{target.id}/merge",
                                json={"source_id": source.id, "confirm_other_customer": True})
    assert confirmed.status_code == 200, confirmed.get_json()


def test_merge_into_a_closed_conversation_is_a_conflict(api, make):
    customer = make.customer()
    target, source = make.conversation(customer), make.conversation(customer)
    api.post(f"/conversations/{target.id}/status", json={"status": "closed"})
    response = api.post(f"/conversations/{target.id}/merge", json={"source_id": source.id})
    assert (response.status_code, list(error_of(response)["fields"])) == (
        409, ["conversation_id"])


# --- search and sort ----------------------------------------------------------------------


def test_the_list_searches_messages_and_sorts(api, make):
    wanted = make.conversation(subject="Facture", body="Une réclamation sur la facture 77")
    make.conversation(subject="Autre", body="Rien à voir")
    found = api.get("/conversations", query_string={"q": "reclamation 77"}).get_json()
    assert [c["id"] for c in found["items"]] == [wanted.id]
    for sort in ("priority", "recent", "oldest", "relevance"):
        response = api.get("/conversations", query_string={"q": "facture", "sort": sort})
        assert response.status_code == 200
    bad = api.get("/conversations", query_string={"sort": "random"})
    assert bad.status_code == 422
