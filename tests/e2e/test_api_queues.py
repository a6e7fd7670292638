"""/api/v1/queues over HTTP."""

from __future__ import annotations

import pytest

from tests.e2e.api_helpers import ApiClient, error_of
from tests.factories import Factory


# One app per backend for the whole module (quick); each test works on rows it creates.
@pytest.fixture
def api(module_admin) -> ApiClient:
    return module_admin


@pytest.fixture
def make(module_make) -> Factory:
    return module_make


def test_create_list_read_and_change_a_queue(api, make):
    ana, bo = make.user(), make.user()
    response = api.post("/queues", json={
        "name": "Billing", "description": "Invoices and refunds", "channels": ["email", "chat"],
        "routing_strategy": "round_robin", "member_ids": [ana.id]})
    assert response.status_code == 201, response.get_json()
    queue = response.get_json()
    assert (queue["channels"], queue["member_ids"]) == (["chat", "email"], [ana.id])
    assert api.get(f"/queues/{queue['id']}").get_json() == queue
    policy = make.sla_policy().id
    changed = api.patch(f"/queues/{queue['id']}", json={
        "member_ids": [bo.id], "routing_strategy": "least_loaded",
        "sla_policy_id": policy}).get_json()
    assert (changed["member_ids"], changed["routing_strategy"], changed["sla_policy_id"]) == (
        [bo.id], "least_loaded", policy)
    listed = api.get("/queues", query_string={"per_page": 100}).get_json()
    assert "Billing" in [q["name"] for q in listed["items"]]
    assert listed["meta"]["total"] == len(listed["items"])


def test_queue_names_are_unique(api, make):
    make.queue(name="Sales")
    response = api.post("/queues", json={"name": "Sales"})
    assert (response.status_code, list(error_of(response)["fields"])) == (409, ["name"])


@pytest.mark.parametrize(("payload", "status", "field"), [
    ({"name": ""}, 422, "name"),
    ({"name": "Q", "channels": ["fax"]}, 422, "channels"),
    ({"name": "Q", "routing_strategy": "random"}, 422, "routing_strategy"),
    ({"name": "Q", "member_ids": [999]}, 404, "member_ids"),
    ({"name": "Q", "member_ids": "1"}, 422, "member_ids"),
    ({"name": "Q", "sla": 1}, 422, "sla"),
    ({"description": "no name"}, 422, "name"),
])
def test_bad_queue_input_is_refused_naming_the_field(api, payload, status, field):
    response = api.post("/queues", json=payload)
    assert (response.status_code, list(error_of(response)["fields"])) == (status, [field])


def test_an_unknown_queue_is_404(api):
    for response in (api.get("/queues/999"),
                     api.patch("/queues/999", json={"name": "X"})):
        assert (response.status_code, list(error_of(response)["fields"])) == (404, ["queue_id"])
