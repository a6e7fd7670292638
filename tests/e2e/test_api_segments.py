"""/api/v1/segments: personal and shared segments, their counts and members, the preview,
and the segment filter of the conversation and customer lists and of saved views."""

from __future__ import annotations

import pytest

from helpdesk.models import Role
from tests.e2e.api_helpers import ApiClient, error_of
from tests.factories import Factory

READ = ["customers:read", "conversations:read"]
GOLD = {"all": [{"field": "email_domain", "op": "is", "value": "gold.example"}]}


@pytest.fixture
def make(module_make) -> Factory:
    return module_make


def client_of(module_app, make, role=Role.AGENT, scopes=READ):
    user = make.user(role)
    return user, ApiClient(module_app.test_client(), make.token(user, list(scopes)))


def test_a_personal_segment_its_count_members_and_filters(module_app, make):
    agent, api = client_of(module_app, make)
    ada = make.customer("Ada", email="ada@gold.example")
    make.customer("Bob", email="bob@silver.example")
    conversation = make.conversation(ada)
    created = api.post("/segments", json={"name": "Gold domain", "conditions": GOLD,
                                          "description": "From the gold shop"})
    segment = created.get_json()
    assert created.status_code == 201, segment
    assert (segment["shared"], segment["owner_id"], segment["count"]) == (False, agent.id, 1)
    assert segment["conditions"] == GOLD
    members = api.get(f"/segments/{segment['id']}/customers").get_json()
    assert [c["name"] for c in members["items"]] == ["Ada"]
    listed = api.get(f"/customers?segment_id={segment['id']}").get_json()
    assert [c["id"] for c in listed["items"]] == [ada.id]
    found = api.get(f"/conversations?segment_id={segment['id']}&status=new").get_json()
    assert [c["id"] for c in found["items"]] == [conversation.id]
    view = api.post("/views", json={"name": "Gold", "filters": {"segment_id": segment["id"]}})
    assert view.status_code == 201 and view.get_json()["filters"] == {
        "segment_id": segment["id"]}
    in_use = api.delete(f"/segments/{segment['id']}")
    assert (in_use.status_code, error_of(in_use)["code"]) == (409, "conflict")
    assert api.delete(f"/views/{view.get_json()['id']}").status_code == 204
    renamed = api.patch(f"/segments/{segment['id']}", json={"name": "Gold"}).get_json()
    assert renamed["name"] == "Gold"
    assert api.delete(f"/segments/{segment['id']}").status_code == 204
    assert api.get(f"/segments/{segment['id']}").status_code == 404


def test_bad_conditions_are_refused_naming_the_bad_part(module_app, make):
    _agent, api = client_of(module_app, make)
    refused = api.post("/segments", json={"name": "Bad", "conditions": {"all": [
        {"field": "contacts", "op": "gte", "value": 3}]}})
    assert refused.status_code == 422
    assert error_of(refused)["fields"] == {
        "conditions.all[0].days": ["conditions.all[0].days: the window, in days back from "
                                   "now, is required"]}
    preview = api.post("/segments/preview", json={"conditions": {"any": [
        {"field": "last_csat", "op": "lte", "value": 9}]}})
    assert list(error_of(preview)["fields"]) == ["conditions.any[0].value"]
    counted = api.post("/segments/preview", json={"conditions": GOLD})
    assert counted.status_code == 200 and counted.get_json()["count"] >= 0


def test_shared_segments_need_segments_manage_and_others_personal_ones_are_hidden(
        module_app, make):
    _agent, agent_api = client_of(module_app, make)
    refused = agent_api.post("/segments", json={"name": "Team", "conditions": GOLD,
                                                "shared": True})
    assert (refused.status_code, list(error_of(refused)["fields"])) == (403, ["shared"])
    _boss, boss_api = client_of(module_app, make, Role.SUPERVISOR,
                                [*READ, "segments:manage"])
    shared = boss_api.post("/segments", json={"name": "Team gold", "conditions": GOLD,
                                              "shared": True}).get_json()
    assert (shared["shared"], shared["owner_id"]) == (True, None)
    assert "Team gold" in [s["name"] for s in agent_api.get("/segments").get_json()["items"]]
    assert agent_api.patch(f"/segments/{shared['id']}", json={"name": "x"}).status_code == 403
    mine = agent_api.post("/segments", json={"name": "Mine", "conditions": GOLD}).get_json()
    assert boss_api.get(f"/segments/{mine['id']}").status_code == 404
    assert boss_api.get(f"/customers?segment_id={mine['id']}").status_code == 404
    assert boss_api.get(f"/conversations?segment_id={mine['id']}").status_code == 404
    shared_view = boss_api.post("/views", json={"name": "Shared", "shared": True,
                                                "filters": {"segment_id": shared["id"]}})
    assert shared_view.status_code == 403  # the boss's token lacks views:manage
    assert boss_api.delete(f"/segments/{shared['id']}").status_code == 204
