"""/api/v1: customer attribute definitions, attributes, consents and organisation on
customers, organisations and their members, merges and their undoing."""

from __future__ import annotations

import pytest

from helpdesk.extensions import unit_of_work
from helpdesk.models import Channel, Customer, Role
from tests.e2e.api_helpers import ApiClient, error_of
from tests.factories import Factory


@pytest.fixture
def api(module_admin) -> ApiClient:
    return module_admin


@pytest.fixture
def make(module_make) -> Factory:
    return module_make


@pytest.fixture(scope="module")
def tier(module_admin) -> dict:
    """A customer attribute, defined once for the module."""
    response = module_admin.post("/custom-fields", json={
        "subject": "customer", "key": "tier", "label": "Loyalty tier", "type": "select",
        "options": ["silver", "gold"]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def client_of(module_app, make, role: Role, scopes: list[str]) -> ApiClient:
    return ApiClient(module_app.test_client(), make.token(make.user(role), scopes))


# --- attribute definitions and values ------------------------------------------------------

def test_attribute_definitions_are_custom_fields_of_the_customer_subject(api, tier):
    assert tier["subject"] == "customer"
    customer_fields = api.get("/custom-fields", query_string={"subject": "customer"})
    assert [f["key"] for f in customer_fields.get_json()["items"]] == ["tier"]
    assert "tier" not in [f["key"] for f in api.get("/custom-fields").get_json()["items"]]
    wrong = api.post("/custom-fields", json={"subject": "company", "key": "x", "label": "X",
                                             "type": "text"})
    assert (wrong.status_code, list(error_of(wrong)["fields"])) == (422, ["subject"])


def test_patch_sets_attributes_consents_and_organisation(api, make, tier):
    customer = make.customer()
    lumen = api.post("/organisations", json={"name": "Lumen PATCH"}).get_json()
    body = api.patch(f"/customers/{customer.id}", json={
        "attributes": {"tier": "gold"}, "consents": {"marketing_email": True},
        "organisation_id": lumen["id"]}).get_json()
    assert (body["attributes"], body["consents"], body["organisation"]) == (
        {"tier": "gold"}, {"marketing_email": True}, {"id": lumen["id"], "name": "Lumen PATCH"})
    body = api.patch(f"/customers/{customer.id}", json={
        "attributes": {"tier": None}, "consents": {"marketing_sms": False},
        "organisation_id": None}).get_json()
    assert (body["attributes"], body["consents"], body["organisation"]) == (
        {}, {"marketing_email": True, "marketing_sms": False}, None)


@pytest.mark.parametrize(("payload", "field", "status"), [
    ({"attributes": {"tier": "platinum"}}, "attributes.tier", 422),
    ({"attributes": {"plan": "pro"}}, "attributes.plan", 422),
    ({"consents": {"marketing_email": "yes"}}, "consents", 422),
    ({"organisation_id": 999999}, "organisation_id", 404),
])
def test_a_bad_profile_change_is_refused_naming_it(api, make, tier, payload, field, status):
    customer = make.customer()
    response = api.patch(f"/customers/{customer.id}", json=payload)
    assert (response.status_code, list(error_of(response)["fields"])) == (status, [field])


# --- organisations -------------------------------------------------------------------------

def test_organisations_crud_and_auto_link_by_email_domain(api, make):
    created = api.post("/organisations", json={
        "name": "Atelier Lumen", "domains": ["Atelier-Lumen.example"], "notes": "Trade"})
    assert created.status_code == 201, created.get_json()
    lumen = created.get_json()
    assert lumen["domains"] == ["atelier-lumen.example"]
    joined = api.post("/customers", json={"name": "Jo", "identities": [
        {"kind": "email", "value": "jo@atelier-lumen.example"}]}).get_json()
    assert joined["organisation"] == {"id": lumen["id"], "name": "Atelier Lumen"}
    path = f"/organisations/{lumen['id']}"
    assert api.patch(path, json={"notes": "Pays at 30 days"}).get_json()["notes"] == (
        "Pays at 30 days")
    found = api.get("/organisations", query_string={"q": "atelier-lumen"}).get_json()
    assert [o["id"] for o in found["items"]] == [lumen["id"]]
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404
    assert api.get(f"/customers/{joined['id']}").get_json()["organisation"] is None


@pytest.mark.parametrize(("payload", "status", "field"), [
    ({"name": "Taken Ltd"}, 409, "name"),
    ({"name": "Other", "domains": ["taken.example"]}, 409, "domains"),
    ({"name": "Other", "domains": ["not a domain"]}, 422, "domains"),
    ({"name": ""}, 422, "name"),
    ({"domains": ["x.example"]}, 422, "name"),
    ({"name": "Other", "attributes": {"nope": 1}}, 422, "attributes.nope"),
])
def test_bad_organisations_are_refused_naming_the_field(api, payload, status, field):
    if api.get("/organisations", query_string={"q": "Taken Ltd"}).get_json()["meta"][
            "total"] == 0:
        api.post("/organisations", json={"name": "Taken Ltd", "domains": ["taken.example"]})
    response = api.post("/organisations", json=payload)
    assert (response.status_code, list(error_of(response)["fields"])) == (status, [field])


def test_members_are_added_listed_and_removed(api, make):
    org = api.post("/organisations", json={"name": "Members Inc"}).get_json()
    ada, bob = make.customer("Ada"), make.customer("Bob")
    for customer in (bob, ada):
        added = api.post(f"/organisations/{org['id']}/members",
                         json={"customer_id": customer.id})
        assert added.get_json()["organisation"]["id"] == org["id"]
    listed = api.get(f"/organisations/{org['id']}/members").get_json()
    assert ([c["name"] for c in listed["items"]], listed["meta"]["total"]) == (["Ada", "Bob"], 2)
    assert api.delete(f"/organisations/{org['id']}/members/{ada.id}").status_code == 204
    again = api.delete(f"/organisations/{org['id']}/members/{ada.id}")
    assert (again.status_code, list(error_of(again)["fields"])) == (404, ["customer_id"])
    history = api.get(f"/customers/{ada.id}/timeline", query_string={
        "type": "customer.organisation_changed"}).get_json()["items"]
    assert [(e["payload"]["from"], e["payload"]["to"]) for e in history] == [
        (org["id"], None), (None, org["id"])]


# --- merges --------------------------------------------------------------------------------

def test_merge_then_unmerge_over_the_api(module_app, make):
    supervisor = client_of(module_app, make, Role.SUPERVISOR,
                           ["customers:read", "customers:merge"])
    target, source = make.customer("Ada"), make.customer("")
    conv = make.conversation(source, channel=Channel.CHAT)
    assert supervisor.post(f"/customers/{target.id}/merge",
                           json={"source_id": source.id}).status_code == 200
    history = supervisor.get(f"/customers/{target.id}/timeline",
                             query_string={"limit": 100}).get_json()["items"]
    assert conv.id in {e["conversation_id"] for e in history}
    [record] = supervisor.get(f"/customers/{target.id}/merges").get_json()["items"]
    assert (record["source_id"], record["reason"], record["unmerged_at"]) == (
        source.id, "agent", None)
    assert record["moved"]["conversations.customer_id"] == 1
    undone = supervisor.post(f"/customers/{target.id}/unmerge", json={"source_id": source.id})
    assert undone.status_code == 200, undone.get_json()
    assert undone.get_json()["unmerged_at"] is not None
    restored = supervisor.get(f"/customers/{source.id}").get_json()
    assert (restored["merged_into_id"], len(restored["identities"])) == (None, 1)
    chat_history = supervisor.get(f"/customers/{source.id}/timeline",
                                  query_string={"channel": "chat"}).get_json()["items"]
    assert {e["conversation_id"] for e in chat_history} == {conv.id}
    again = supervisor.post(f"/customers/{target.id}/unmerge", json={"source_id": source.id})
    assert (again.status_code, list(error_of(again)["fields"])) == (404, ["source_id"])


def test_a_verified_identity_on_both_sides_merges_for_those_allowed(module_app, make):
    shop_user, owner = make.customer("Shop user"), make.customer("Email owner")
    supervisor = client_of(module_app, make, Role.SUPERVISOR,
                           ["customers:read", "customers:write", "customers:merge"])
    agent = client_of(module_app, make, Role.AGENT, ["customers:read", "customers:write"])
    supervisor.post(f"/customers/{owner.id}/identities", json={
        "kind": "email", "value": "verified@example.com", "verified": True})
    identity = {"kind": "email", "value": "Verified@example.com", "verified": True}
    refused = agent.post(f"/customers/{shop_user.id}/identities", json=identity)
    assert (refused.status_code, list(error_of(refused)["fields"])) == (409, ["value"])
    merged = supervisor.post(f"/customers/{shop_user.id}/identities", json=identity)
    assert merged.status_code == 201, merged.get_json()
    [record] = supervisor.get(f"/customers/{shop_user.id}/merges").get_json()["items"]
    assert (record["source_id"], record["reason"]) == (owner.id, "verified_identity")


def test_suggestions_name_the_customer_who_typed_an_address(module_app, api, make):
    owner, typist = make.customer("Owner", email="owned@example.com"), make.customer("Typist")
    with module_app.app_context(), unit_of_work() as uow:
        uow.session.get(Customer, typist.id).claimed_email = "owned@example.com"
        uow.commit()
    [suggestion] = api.get(f"/customers/{owner.id}/merge-suggestions").get_json()["items"]
    assert (suggestion["customer"]["id"], suggestion["email"], suggestion["verified"]) == (
        typist.id, "owned@example.com", False)
