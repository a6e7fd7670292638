"""/api/v1/conversations over HTTP: the happy paths and the bad input."""

from __future__ import annotations

import pytest

from helpdesk.models import Role
from tests.e2e.api_helpers import ApiClient, error_of
from tests.factories import Factory


# One app per backend for the whole module (quick); each test works on rows it creates.
@pytest.fixture
def api(module_admin) -> ApiClient:
    return module_admin


@pytest.fixture
def make(module_make) -> Factory:
    return module_make


@pytest.fixture
def conv(make):
    return make.conversation()


def timeline_types(api: ApiClient, customer_id: int) -> list[str]:
    response = api.get(f"/customers/{customer_id}/timeline", query_string={"limit": 100})
    return [event["type"] for event in response.get_json()["items"]]


def test_open_a_conversation_with_its_first_message(api, make):
    customer, queue = make.customer(), make.queue()
    response = api.post("/conversations", json={
        "customer_id": customer.id, "channel": "phone", "subject": "Broken kettle",
        "queue_id": queue.id, "priority": "high",
        "first_message": {"body": "It sparks when I switch it on"}})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["priority"], body["channel"]) == ("new", "high", "phone")
    assert body["customer"]["id"] == customer.id
    assert body["queue"] == {"id": queue.id, "name": queue.name}
    messages = api.get(f"/conversations/{body['id']}/messages").get_json()["items"]
    assert [(m["seq"], m["author_kind"]) for m in messages] == [(1, "customer")]
    assert timeline_types(api, customer.id)[:2] == ["message.posted", "conversation.opened"]


def test_an_agent_may_write_first(api, make):
    customer = make.customer()
    body = api.post("/conversations", json={
        "customer_id": customer.id, "channel": "email", "subject": "Your order",
        "first_message": {"body": "Your order is delayed", "author": "agent"}}).get_json()
    messages = api.get(f"/conversations/{body['id']}/messages").get_json()["items"]
    assert [m["author_kind"] for m in messages] == ["agent"]
    assert body["first_response_at"] is not None


def test_get_shows_customer_queue_assignee_and_tags(api, make):
    agent = make.user(Role.AGENT)
    conv = make.conversation(queue_id=make.queue().id)
    api.post(f"/conversations/{conv.id}/assign", json={"assignee_id": agent.id})
    api.patch(f"/conversations/{conv.id}", json={"tags": ["VIP", "refund"]})
    body = api.get(f"/conversations/{conv.id}").get_json()
    assert body["assignee"] == {"id": agent.id, "name": agent.name}
    assert body["tags"] == ["refund", "vip"]
    assert body["customer"]["identities"][0]["kind"] == "email"
    assert body["queue"]["id"] == conv.queue_id


def test_list_filters_and_paginates(api, make):
    queue = make.queue()
    in_queue = [make.conversation(queue_id=queue.id, subject=f"Refund {n}") for n in range(3)]
    make.conversation(subject="Other")
    api.post(f"/conversations/{in_queue[0].id}/status", json={"status": "pending"})
    page = api.get("/conversations", query_string={"queue_id": queue.id, "per_page": 2})
    body = page.get_json()
    assert body["meta"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    assert len(body["items"]) == 2
    statuses = api.get("/conversations", query_string=[
        ("status", "new"), ("status", "pending"), ("q", "refund"), ("queue_id", queue.id)])
    assert statuses.get_json()["meta"]["total"] == 3
    pending = api.get(f"/conversations?status=pending&unassigned=true&queue_id={queue.id}"
                      ).get_json()
    assert [c["id"] for c in pending["items"]] == [in_queue[0].id]


def test_messages_catch_up_after_a_seq(api, conv):
    for text in ("one", "two", "three"):
        api.post(f"/conversations/{conv.id}/reply", json={"body": text})
    later = api.get(f"/conversations/{conv.id}/messages", query_string={"after_seq": 2})
    assert [m["body"] for m in later.get_json()["items"]] == ["two", "three"]
    first = api.get(f"/conversations/{conv.id}/messages?after_seq=0&limit=1").get_json()
    assert ([m["seq"] for m in first["items"]], first["has_more"]) == ([1], True)


def test_a_retried_reply_is_stored_once(api, conv):
    reply = {"body": "Your parcel left today", "client_id": "retry-1"}
    first = api.post(f"/conversations/{conv.id}/reply", json=reply)
    again = api.post(f"/conversations/{conv.id}/reply", json=reply)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert first.get_json()["seq"] == 2
    assert timeline_types(api, conv.customer_id).count("message.posted") == 2  # first + reply


def test_bodies_are_stored_as_text_and_html_sanitized(api, conv):
    plain = api.post(f"/conversations/{conv.id}/reply", json={"body": "<b>bold</b> & co"})
    rich = api.post(f"/conversations/{conv.id}/reply", json={
        "body": "Hello", "html": "<p>Hello<script>alert(1)</script></p>"})
    assert (plain.get_json()["body"], plain.get_json()["body_html"]) == ("<b>bold</b> & co",
                                                                        None)
    assert rich.get_json()["body_html"] == "<p>Hello</p>"


def test_note_is_internal(api, conv):
    response = api.post(f"/conversations/{conv.id}/notes", json={"body": "Call them back"})
    assert response.status_code == 201
    assert (response.get_json()["internal"], response.get_json()["author_kind"]) == (True,
                                                                                    "agent")


def test_assign_then_hand_back_to_the_queue(api, make):
    agent = make.user(Role.AGENT)
    conv = make.conversation()
    assigned = api.post(f"/conversations/{conv.id}/assign",
                        json={"assignee_id": agent.id}).get_json()
    assert (assigned["status"], assigned["owner"]) == ("open", "agent")
    released = api.post(f"/conversations/{conv.id}/assign", json={"assignee_id": None})
    assert (released.get_json()["assignee"], released.get_json()["owner"]) == (None, "queue")


def test_status_follows_the_lifecycle(api, conv):
    assert api.post(f"/conversations/{conv.id}/status",
                    json={"status": "closed"}).get_json()["status"] == "closed"
    refused = api.post(f"/conversations/{conv.id}/status", json={"status": "open"})
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "invalid_transition"
    closed_reply = api.post(f"/conversations/{conv.id}/reply", json={"body": "Hello?"})
    assert (closed_reply.status_code, error_of(closed_reply)["code"]) == (409, "conflict")


def test_patch_changes_priority_and_tags_together(api, conv):
    body = api.patch(f"/conversations/{conv.id}",
                     json={"priority": "urgent", "tags": ["Billing"]}).get_json()
    assert (body["priority"], body["tags"]) == ("urgent", ["billing"])
    types = timeline_types(api, conv.customer_id)
    assert {"conversation.priority_changed", "conversation.tags_changed"} <= set(types)


# --- bad input ------------------------------------------------------------------------------

def test_an_unknown_field_is_named(api, conv):
    response = api.post(f"/conversations/{conv.id}/reply",
                                json={"body": "Hi", "bcc": "x"})
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["fields"]) == ("validation_failed", {"bcc": ["Unknown field."]})
    assert error["message"] == "bcc: Unknown field."


def test_an_unknown_query_parameter_is_refused(api):
    response = api.get("/conversations", query_string={"stauts": "open"})
    assert (response.status_code, list(error_of(response)["fields"])) == (422, ["stauts"])


def test_per_page_is_capped_at_the_configured_maximum(module_app, api):
    body = api.get("/conversations", query_string={"per_page": 10_000}).get_json()
    assert body["meta"]["per_page"] == module_app.config["COMPTOIR"].max_page_size


@pytest.mark.parametrize(("payload", "field"), [
    ({"customer_id": "one", "channel": "email"}, "customer_id"),
    ({"customer_id": 1.5, "channel": "email"}, "customer_id"),
    ({"customer_id": 2**40, "channel": "email"}, "customer_id"),
    ({"customer_id": 1, "channel": "pigeon"}, "channel"),
    ({"customer_id": 1, "channel": "email", "priority": "HIGH"}, "priority"),
    ({"customer_id": 1, "channel": "email", "subject": "x" * 301}, "subject"),
    ({"channel": "email"}, "customer_id"),
    ({"customer_id": 1, "channel": "email", "first_message": {"body": ""}}, "first_message"),
    ({"customer_id": 1, "channel": "email", "first_message": "hello"}, "first_message"),
])
def test_bad_input_is_refused_naming_the_field(api, payload, field):
    response = api.post("/conversations", json=payload)
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == [field]


def test_an_invalid_status_filter_is_refused(api):
    response = api.get("/conversations?status=open&status=lost")
    assert (response.status_code, list(error_of(response)["fields"])) == (422, ["status"])


@pytest.mark.parametrize(("path", "payload", "field"), [
    ("/conversations", lambda c: {"customer_id": 999, "channel": "email"}, "customer_id"),
    ("/conversations", lambda c: {"customer_id": c.customer_id, "channel": "email",
                                  "queue_id": 999}, "queue_id"),
    ("/conversations/{id}/assign", lambda c: {"assignee_id": 999}, "assignee_id"),
    ("/conversations/{id}/assign", lambda c: {"assignee_id": None, "queue_id": 999},
     "queue_id"),
    ("/conversations/999/reply", lambda c: {"body": "Hi"}, "conversation_id"),
])
def test_unknown_ids_are_404_naming_the_field(api, conv, path, payload, field):
    response = api.post(path.format(id=conv.id), json=payload(conv))
    assert response.status_code == 404
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == ("not_found", [field])


@pytest.mark.parametrize("path", ["/conversations/999", "/conversations/999/messages",
                                  f"/conversations/{2**40}"])
def test_an_unknown_conversation_in_the_url_is_404(api, path):
    response = api.get(path)
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")


def test_an_empty_patch_is_refused(api, conv):
    response = api.patch(f"/conversations/{conv.id}", json={})
    assert response.status_code == 422
    assert error_of(response)["message"] == "send at least one field to change"
