"""/api/v1/automation over HTTP: rules, their runs, dry runs, and the errors naming the part."""

from __future__ import annotations

import pytest

from tests.e2e.api_helpers import ApiClient, error_of
from tests.factories import Factory

REFUNDS = {"name": "Refunds", "trigger": "email_received",
           "conditions": {"all": [{"field": "subject", "op": "contains",
                                   "value": "remboursement"}]},
           "actions": [{"type": "set_priority", "priority": "high"}]}


def bad_part(response) -> str:
    """The one input the error names."""
    [name] = error_of(response)["fields"]
    return name


@pytest.fixture
def api(module_admin) -> ApiClient:
    return module_admin


@pytest.fixture
def make(module_make) -> Factory:
    return module_make


def test_create_read_change_list_and_delete_a_rule(api, make):
    billing = make.queue()
    response = api.post("/automation/rules", json={
        **REFUNDS, "actions": [{"type": "set_queue", "queue_id": billing.id},
                               {"type": "set_priority", "priority": "high"}]})
    assert response.status_code == 201, response.get_json()
    rule = response.get_json()
    assert (rule["trigger"], rule["active"], rule["delay_minutes"]) == ("email_received", True,
                                                                        None)
    assert rule["conditions"] == REFUNDS["conditions"]
    assert api.get(f"/automation/rules/{rule['id']}").get_json() == rule
    changed = api.patch(f"/automation/rules/{rule['id']}", json={
        "trigger": "pending_for", "delay_minutes": 4320, "conditions": {}}).get_json()
    assert (changed["trigger"], changed["delay_minutes"], changed["conditions"]) == (
        "pending_for", 4320, {"all": []})
    listed = api.get("/automation/rules", query_string={"per_page": 100}).get_json()
    assert rule["id"] in [r["id"] for r in listed["items"]]
    assert api.delete(f"/automation/rules/{rule['id']}").status_code == 204
    assert api.get(f"/automation/rules/{rule['id']}").status_code == 404


def test_errors_name_the_bad_part(api):
    bad = {**REFUNDS, "name": "Bad", "conditions": {"all": [
        {"field": "subject", "op": "contains", "value": "x"},
        {"field": "status", "op": "contains", "value": "open"}]}}
    response = api.post("/automation/rules", json=bad)
    assert response.status_code == 422
    assert bad_part(response) == "conditions.all[1].op"
    response = api.post("/automation/rules", json={**REFUNDS, "name": "Bad",
                                                   "actions": [{"type": "set_priority"}]})
    assert bad_part(response) == "actions[0].priority"
    response = api.post("/automation/rules", json={**REFUNDS, "name": "Bad",
                                                   "trigger": "pending_for"})
    assert bad_part(response) == "delay_minutes"


def test_names_are_unique(api):
    assert api.post("/automation/rules", json={**REFUNDS, "name": "Twice"}).status_code == 201
    response = api.post("/automation/rules", json={**REFUNDS, "name": "Twice"})
    assert (response.status_code, bad_part(response)) == (409, "name")


def test_runs_and_dry_runs(api, make):
    only_this_test = {"all": [{"field": "subject", "op": "is", "value": "Dry run probe"}]}
    rule = api.post("/automation/rules", json={**REFUNDS, "name": "Probe",
                                                "conditions": only_this_test}).get_json()
    assert api.get(f"/automation/rules/{rule['id']}/runs").get_json() == {"items": []}
    probed = make.conversation(subject="Dry run probe")  # the customer wrote by email
    [run] = api.get(f"/automation/rules/{rule['id']}/runs").get_json()["items"]
    assert (run["outcome"], run["conversation_id"], run["errors"]) == ("applied", probed.id, [])

    saved = api.get(f"/automation/rules/{rule['id']}/dry-run").get_json()
    assert [m["conversation_id"] for m in saved["matches"]] == [probed.id]
    assert saved["matches"][0]["occurrence"] == run["occurrence"]
    draft = api.post("/automation/dry-run", json={
        "trigger": "email_received", "conditions": {"all": [
            {"field": "subject", "op": "is", "value": "nothing like it"}]}}).get_json()
    assert (draft["matches"], draft["total"]) == ([], 0)
    response = api.post("/automation/dry-run", json={"trigger": "no_agent_reply"})
    assert bad_part(response) == "delay_minutes"
