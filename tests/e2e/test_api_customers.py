"""/api/v1/customers over HTTP: profile, identities, timeline, merge; and the bad input."""

from __future__ import annotations

import pytest

from helpdesk.models import Channel, Role
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
def customer(make):
    return make.customer()


def test_create_then_read_a_customer(api, make):
    make.custom_field(subject="customer", key="plan", label="Plan", type="text")
    response = api.post("/customers", json={
        "name": "Léa Martin", "language": "fr", "timezone": "Europe/Paris",
        "attributes": {"plan": "gold"}, "consents": {"marketing_email": True},
        "identities": [{"kind": "email", "value": "Lea@Example.com"},
                       {"kind": "phone", "value": "+33 6 12 34 56 78"}]})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert [(i["kind"], i["value"]) for i in created["identities"]] == [
        ("email", "lea@example.com"), ("phone", "+33612345678")]
    assert api.get(f"/customers/{created['id']}").get_json() == created
    assert (created["consents"], created["attributes"]) == ({"marketing_email": True},
                                                            {"plan": "gold"})


def test_list_searches_names_and_identities(api, make):
    make.customer(name="Zoé", email="zoe@example.org")
    make.customer(name="Other")
    found = api.get("/customers", query_string={"q": "example.org"}).get_json()
    assert [c["name"] for c in found["items"]] == ["Zoé"]
    assert found["meta"] == {"page": 1, "per_page": 25, "total": 1, "pages": 1}


def test_patch_changes_the_profile_and_records_it(api, make):
    customer = make.customer()
    body = api.patch(f"/customers/{customer.id}",
                     json={"name": "Ada L.", "timezone": "America/Montreal",
                           "language": None}).get_json()
    assert (body["name"], body["timezone"], body["language"]) == ("Ada L.", "America/Montreal",
                                                                  None)
    events = api.get(f"/customers/{customer.id}/timeline").get_json()["items"]
    assert events[0]["type"] == "customer.updated"


def test_delete_only_a_customer_without_conversations(api, make):
    lone, busy = make.customer(), make.conversation().customer_id
    assert api.delete(f"/customers/{lone.id}").status_code == 204
    assert api.get(f"/customers/{lone.id}").status_code == 404
    refused = api.delete(f"/customers/{busy}")
    assert (refused.status_code, error_of(refused)["code"]) == (409, "conflict")


def test_identities_are_added_once_and_removed(api, make):
    ada, bob = make.customer(), make.customer()
    added = api.post(f"/customers/{ada.id}/identities",
                     json={"kind": "visitor", "value": "v-123", "verified": True})
    assert added.status_code == 201
    assert (added.get_json()["kind"], added.get_json()["verified"]) == ("visitor", True)
    taken = api.post(f"/customers/{bob.id}/identities", json={"kind": "visitor", "value": "v-123"})
    assert (taken.status_code, list(error_of(taken)["fields"])) == (409, ["value"])
    not_bobs = api.delete(f"/customers/{bob.id}/identities/{added.get_json()['id']}")
    assert not_bobs.status_code == 404
    assert api.delete(f"/customers/{ada.id}/identities/{added.get_json()['id']}"
                      ).status_code == 204
    kinds = [i["kind"] for i in api.get(f"/customers/{ada.id}").get_json()["identities"]]
    assert kinds == ["email"]


def test_timeline_pages_newest_first_and_filters(api, make):
    customer = make.customer()
    chat = make.conversation(customer, channel=Channel.CHAT)
    make.conversation(customer, channel=Channel.EMAIL)
    api.post(f"/conversations/{chat.id}/reply", json={"body": "Hello"})
    first = api.get(f"/customers/{customer.id}/timeline", query_string={"limit": 2}).get_json()
    rest = api.get(f"/customers/{customer.id}/timeline",
                   query_string={"cursor": first["next_cursor"], "limit": 100}).get_json()
    everything = first["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert [e["occurred_at"] for e in everything] == sorted(
        (e["occurred_at"] for e in everything), reverse=True)
    assert len({e["id"] for e in everything}) == len(everything)
    chat_posts = api.get(f"/customers/{customer.id}/timeline", query_string=[
        ("type", "message.posted"), ("channel", "chat")]).get_json()["items"]
    assert [(e["conversation_id"], e["payload"]["seq"]) for e in chat_posts] == [
        (chat.id, 2), (chat.id, 1)]


def test_merge_moves_identities_conversations_and_history(module_app, make):
    supervisor = ApiClient(module_app.test_client(), make.token(
        make.user(Role.SUPERVISOR), ["customers:read", "customers:merge"]))
    target, source = make.customer(name="Ada"), make.customer(name="")
    conv = make.conversation(source)
    merged = supervisor.post(f"/customers/{target.id}/merge", json={"source_id": source.id})
    assert merged.status_code == 200
    assert len(merged.get_json()["identities"]) == 2
    assert supervisor.get(f"/customers/{source.id}").get_json()["merged_into_id"] == target.id
    history = supervisor.get(f"/customers/{target.id}/timeline?limit=100").get_json()["items"]
    assert history[0]["type"] == "customer.merged"
    assert conv.id in {e["conversation_id"] for e in history}


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize(("payload", "field"), [
    ({"name": "Ada", "emails": ["ada@example.com"]}, "emails"),
    ({"name": 42}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"language": "French"}, "language"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"consents": {"spam_me": True}}, "consents"),
    ({"consents": {"marketing_email": "yes"}}, "consents"),
    ({"attributes": ["plan"]}, "attributes"),
    ({"identities": [{"kind": "fax", "value": "123"}]}, "identities"),
    ({"identities": [{"kind": "email"}]}, "identities"),
    ({"identities": [{"kind": "email", "value": "not-an-address"}]}, "value"),
])
def test_bad_customer_input_is_refused_naming_the_field(api, payload, field):
    response = api.post("/customers", json=payload)
    assert response.status_code == 422, response.get_json()
    assert list(error_of(response)["fields"]) == [field]


@pytest.mark.parametrize(("method", "path", "payload"), [
    ("GET", "/customers/999", None),
    ("PATCH", "/customers/999", {"name": "Ghost"}),
    ("DELETE", "/customers/999", None),
    ("POST", "/customers/999/identities", {"kind": "email", "value": "ghost@example.com"}),
    ("GET", "/customers/999/timeline", None),
])
def test_an_unknown_customer_is_404_naming_the_field(api, method, path, payload):
    response = api.call(method, path, json=payload)
    assert response.status_code == 404
    assert error_of(response)["fields"] == {"customer_id": ["customer 999 does not exist"]}


def test_an_unknown_identity_is_404(api, customer):
    response = api.delete(f"/customers/{customer.id}/identities/999")
    assert (response.status_code, list(error_of(response)["fields"])) == (404, ["identity_id"])


@pytest.mark.parametrize(("source", "status", "field"), [
    (999, 404, "source_id"), ("self", 422, "source_id"), ("3", 422, "source_id")])
def test_merge_refuses_a_bad_source(api, customer, source, status, field):
    source = customer.id if source == "self" else source
    response = api.post(f"/customers/{customer.id}/merge",
                                json={"source_id": source})
    assert (response.status_code, list(error_of(response)["fields"])) == (status, [field])


@pytest.mark.parametrize(("query", "field"), [
    ({"cursor": "not-ours"}, "cursor"), ({"limit": 0}, "limit"), ({"channel": "fax"}, "channel")])
def test_bad_timeline_queries_are_refused(api, customer, query, field):
    response = api.get(f"/customers/{customer.id}/timeline", query_string=query)
    assert (response.status_code, list(error_of(response)["fields"])) == (422, [field])
