"""/api/v1/views: saved views, personal or shared, their counts and their conversations."""

from __future__ import annotations

import pytest

from helpdesk.models import Role
from tests.e2e.api_helpers import ApiClient, error_of
from tests.factories import Factory

READ = ["conversations:read", "conversations:write"]


@pytest.fixture
def make(module_make) -> Factory:
    return module_make


def client_of(module_app, make, role, scopes=READ):
    user = make.user(role)
    return user, ApiClient(module_app.test_client(), make.token(user, list(scopes)))


def test_a_personal_view_shows_its_owner_their_conversations(module_app, make):
    agent, api = client_of(module_app, make, Role.AGENT)
    mine = make.conversation(subject="Needs a refund")
    api.post(f"/conversations/{mine.id}/assign", json={"assignee_id": agent.id})
    make.conversation(subject="Someone else's refund")
    created = api.post("/views", json={"name": "My refunds", "filters": {
        "assignee": "me", "q": "refund", "statuses": [], "sort": "recent"}})
    assert created.status_code == 201, created.get_json()
    view = created.get_json()
    assert (view["shared"], view["owner_id"], view["count"]) == (False, agent.id, 1)
    assert view["filters"] == {"assignee": "me", "q": "refund", "sort": "recent"}
    listed = api.get(f"/views/{view['id']}/conversations").get_json()
    assert [c["id"] for c in listed["items"]] == [mine.id]
    assert [v["name"] for v in api.get("/views").get_json()["items"]] == ["My refunds"]
    renamed = api.patch(f"/views/{view['id']}", json={"name": "Refunds"}).get_json()
    assert renamed["name"] == "Refunds"
    assert api.delete(f"/views/{view['id']}").status_code == 204
    assert api.get(f"/views/{view['id']}").status_code == 404


def test_shared_views_need_views_manage_and_everyone_sees_them(module_app, make):
    _agent, agent_api = client_of(module_app, make, Role.AGENT)
    refused = agent_api.post("/views", json={"name": "Team", "shared": True})
    assert (refused.status_code, list(error_of(refused)["fields"])) == (403, ["shared"])
    _boss, boss_api = client_of(module_app, make, Role.SUPERVISOR, [*READ, "views:manage"])
    shared = boss_api.post("/views", json={"name": "Unassigned urgent", "shared": True,
                                           "filters": {"assignee": "unassigned",
                                                       "priority": "urgent"}}).get_json()
    assert (shared["shared"], shared["owner_id"]) == (True, None)
    assert "Unassigned urgent" in [v["name"] for v in agent_api.get("/views").get_json()["items"]]
    assert agent_api.patch(f"/views/{shared['id']}", json={"name": "x"}).status_code == 403
    assert agent_api.delete(f"/views/{shared['id']}").status_code == 403
    _token_only, narrow = client_of(module_app, make, Role.SUPERVISOR)  # no views:manage scope
    assert narrow.delete(f"/views/{shared['id']}").status_code == 403
    assert boss_api.delete(f"/views/{shared['id']}").status_code == 204


def test_another_s_personal_view_does_not_exist_for_you(module_app, make):
    owner = make.user()
    view = make.saved_view(owner, q="refund")
    _other, api = client_of(module_app, make, Role.AGENT)
    for response in (api.get(f"/views/{view.id}"), api.get(f"/views/{view.id}/conversations"),
                     api.patch(f"/views/{view.id}", json={"name": "Mine now"}),
                     api.delete(f"/views/{view.id}")):
        assert response.status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"name": ""}, "name"),
    ({"name": "x", "filters": {"assignee": "someone"}}, "filters"),
    ({"name": "x", "filters": {"assignee": 2_000_000_000}}, "filters.assignee"),
    ({"name": "x", "filters": {"queue_id": 2_000_000_000}}, "filters.queue_id"),
    ({"name": "x", "filters": {"statuses": ["lost"]}}, "filters"),
    ({"name": "x", "filters": {"sort": "random"}}, "filters"),
    ({"name": "x", "filters": {"colour": "red"}}, "filters"),
])
def test_bad_views_are_refused_naming_the_field(module_app, make, body, field):
    _user, api = client_of(module_app, make, Role.AGENT)
    response = api.post("/views", json=body)
    assert response.status_code in (404, 422), response.get_json()
    assert field in error_of(response)["fields"], error_of(response)


def test_two_views_of_one_owner_cannot_share_a_name(module_app, make):
    _user, api = client_of(module_app, make, Role.AGENT)
    assert api.post("/views", json={"name": "Mine"}).status_code == 201
    again = api.post("/views", json={"name": " Mine "})
    assert (again.status_code, list(error_of(again)["fields"])) == (409, ["name"])
