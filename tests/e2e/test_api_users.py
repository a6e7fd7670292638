"""/api/v1/users over HTTP: accounts, presence and personal tokens (self-service included)."""

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


def test_create_read_list_and_change_a_user(api):
    response = api.post("/users", json={"email": "Nina@Staff.example", "name": "Nina",
                                         "role": "agent", "password": "long enough pw",
                                         "capacity": {"chat": 3}, "skills": ["de"]})
    assert response.status_code == 201, response.get_json()
    nina = response.get_json()
    assert (nina["email"], nina["presence"], nina["capacity"]) == ("nina@staff.example",
                                                                   "offline", {"chat": 3})
    assert "password" not in nina and "password_hash" not in nina
    assert api.get(f"/users/{nina['id']}").get_json() == nina
    agents = api.get("/users", query_string={"role": "agent", "per_page": 100}).get_json()
    assert "nina@staff.example" in [u["email"] for u in agents["items"]]
    assert {u["role"] for u in agents["items"]} == {"agent"}
    changed = api.patch(f"/users/{nina['id']}", json={"role": "supervisor", "active": False,
                                                      "password": "another long pw"})
    assert (changed.get_json()["role"], changed.get_json()["active"]) == ("supervisor", False)
    inactive = api.get("/users", query_string={"active": "false"}).get_json()["items"]
    assert nina["id"] in [u["id"] for u in inactive]
    assert not any(u["active"] for u in inactive)


def test_an_email_is_taken_once(api, make):
    make.user(email="taken@staff.example")
    response = api.post("/users", json={"email": "taken@staff.example", "role": "agent",
                                         "password": "long enough pw"})
    assert (response.status_code, list(error_of(response)["fields"])) == (409, ["email"])


def test_a_token_secret_is_shown_once_and_works(api, module_app, make):
    agent = make.user()
    issued = api.post(f"/users/{agent.id}/tokens",
                      json={"name": "zapier", "scopes": ["conversations:read"]})
    assert issued.status_code == 201
    secret = issued.get_json()["secret"]
    assert secret.startswith(issued.get_json()["token"]["prefix"])
    listed = api.get(f"/users/{agent.id}/tokens").get_data(as_text=True)
    assert secret not in listed and "zapier" in listed
    assert ApiClient(module_app.test_client(), secret).get("/conversations").status_code == 200


def test_staff_manage_their_own_presence_and_tokens(module_app, make):
    agent, colleague = make.user(Role.AGENT), make.user(Role.AGENT)
    own = ApiClient(module_app.test_client(), make.token(agent, ["account:manage"]))
    assert own.put(f"/users/{agent.id}/presence",
                   json={"presence": "online"}).get_json()["presence"] == "online"
    token = own.post(f"/users/{agent.id}/tokens",
                     json={"name": "cli", "scopes": ["conversations:read"]}).get_json()["token"]
    assert own.delete(f"/users/{agent.id}/tokens/{token['id']}").status_code == 204
    revoked = own.get(f"/users/{agent.id}/tokens").get_json()["items"]
    assert [t["revoked_at"] is not None for t in revoked if t["id"] == token["id"]] == [True]
    for response in (own.put(f"/users/{colleague.id}/presence", json={"presence": "away"}),
                     own.post(f"/users/{colleague.id}/tokens",
                              json={"name": "x", "scopes": ["conversations:read"]})):
        assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")


def test_own_account_still_needs_the_scope_on_a_token(module_app, make):
    agent = make.user(Role.AGENT)
    narrow = ApiClient(module_app.test_client(), make.token(agent, ["conversations:read"]))
    response = narrow.post(f"/users/{agent.id}/tokens",
                           json={"name": "wider", "scopes": ["conversations:write"]})
    assert response.status_code == 403


def test_a_token_is_revoked_only_under_its_own_user(api, module_app, make):
    agent, colleague = make.user(), make.user()
    colleague_secret = make.token(colleague, ["conversations:read"])
    target = api.get(f"/users/{colleague.id}/tokens").get_json()["items"][0]["id"]
    own = ApiClient(module_app.test_client(), make.token(agent, ["account:manage"]))
    response = own.delete(f"/users/{agent.id}/tokens/{target}")
    assert (response.status_code, list(error_of(response)["fields"])) == (404, ["token_id"])
    still = ApiClient(module_app.test_client(), colleague_secret).get("/conversations")
    assert still.status_code == 200


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize(("payload", "field"), [
    ({"email": "a@staff.example", "role": "boss", "password": "long enough pw"}, "role"),
    ({"email": "a@staff.example", "role": "agent", "password": "short"}, "password"),
    ({"email": "not-an-email", "role": "agent", "password": "long enough pw"}, "email"),
    ({"email": "a@staff.example", "role": "agent", "password": "long enough pw",
      "is_admin": True}, "is_admin"),
    ({"email": "a@staff.example", "role": "agent", "password": "long enough pw",
      "capacity": {"chat": -1}}, "capacity"),
    ({"email": "a@staff.example", "role": "agent", "password": "long enough pw",
      "capacity": {"fax": 2}}, "capacity"),
    ({"email": "a@staff.example", "role": "agent", "password": "long enough pw",
      "active": "yes"}, "active"),
    ({"role": "agent", "password": "long enough pw"}, "email"),
])
def test_bad_user_input_is_refused_naming_the_field(api, payload, field):
    response = api.post("/users", json=payload)
    assert response.status_code == 422, response.get_json()
    assert list(error_of(response)["fields"]) == [field]


@pytest.mark.parametrize(("payload", "field"), [
    ({"name": "t", "scopes": ["everything"]}, "scopes"),
    ({"name": "t", "scopes": []}, "scopes"),
    ({"name": "t", "scopes": ["users:read"], "expires_at": "2999-01-01T00:00:00"}, "expires_at"),
    ({"name": "t", "scopes": ["users:read"], "expires_at": "2000-01-01T00:00:00Z"},
     "expires_at"),
    ({"scopes": ["users:read"]}, "name"),
])
def test_bad_token_input_is_refused_naming_the_field(api, payload, field):
    me = api.get("/me").get_json()
    response = api.post(f"/users/{me['id']}/tokens", json=payload)
    assert response.status_code == 422, response.get_json()
    assert list(error_of(response)["fields"]) == [field]


@pytest.mark.parametrize(("method", "path", "payload"), [
    ("GET", "/users/999", None),
    ("PATCH", "/users/999", {"name": "Ghost"}),
    ("PUT", "/users/999/presence", {"presence": "online"}),
    ("GET", "/users/999/tokens", None),
])
def test_an_unknown_user_is_404(api, method, path, payload):
    response = api.call(method, path, json=payload)
    assert (response.status_code, list(error_of(response)["fields"])) == (404, ["user_id"])


def test_presence_takes_known_values_only(api):
    me = api.get("/me").get_json()
    response = api.put(f"/users/{me['id']}/presence", json={"presence": "busy"})
    assert (response.status_code, list(error_of(response)["fields"])) == (422, ["presence"])
