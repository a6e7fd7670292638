"""/api/v1/sla over HTTP, and the ``sla`` object of a conversation."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from helpdesk.events import Actor
from helpdesk.extensions import unit_of_work
from helpdesk.models import Channel
from helpdesk.orm import clock_at
from helpdesk.services import conversations
from helpdesk.services.conversations import NewMessage
from helpdesk.sla_triggers import check_clocks
from tests.e2e.api_helpers import ApiClient, error_of
from tests.factories import Factory

PARIS = ZoneInfo("Europe/Paris")
HOURS = {"mon": ["13:30-18:00", "09:00-12:30"], "tue": ["09:00-18:00"]}


@pytest.fixture
def api(module_admin) -> ApiClient:
    return module_admin


@pytest.fixture
def make(module_make) -> Factory:
    return module_make


def test_create_read_change_and_delete_a_calendar(api):
    created = api.post("/sla/calendars", json={
        "name": "Lyon office", "timezone": "Europe/Paris", "hours": HOURS,
        "holidays": [{"date": "2026-05-01", "name": "Fête du travail"}]})
    assert created.status_code == 201, created.get_json()
    calendar = created.get_json()
    assert calendar["hours"]["mon"] == ["09:00-12:30", "13:30-18:00"]
    assert calendar["hours"]["sun"] == []
    assert [(h["date"], h["name"]) for h in calendar["holidays"]] == [
        ("2026-05-01", "Fête du travail")]
    path = f"/sla/calendars/{calendar['id']}"
    assert api.get(path).get_json() == calendar
    changed = api.patch(path, json={"holidays": [], "timezone": "Europe/Brussels"}).get_json()
    assert (changed["holidays"], changed["timezone"]) == ([], "Europe/Brussels")
    seeded = api.post(f"{path}/holidays/seed", json={"country": "BE", "year": 2026}).get_json()
    assert seeded["added"] == len(seeded["calendar"]["holidays"]) > 5
    assert {"date": "2026-07-21", "name": "National Day"} in [
        {k: h[k] for k in ("date", "name")} for h in seeded["calendar"]["holidays"]]
    assert "Lyon office" in [c["name"] for c in api.get("/sla/calendars").get_json()["items"]]
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "X", "timezone": "Mars/Olympus", "hours": HOURS}, "timezone"),
    ({"name": "X", "timezone": "UTC", "hours": {"mon": ["9 to 5"]}}, "hours"),
    ({"name": "X", "timezone": "UTC", "hours": {"funday": ["09:00-17:00"]}}, "hours"),
    ({"name": "X", "timezone": "UTC"}, "hours"),
])
def test_a_wrong_calendar_is_refused_naming_the_field(api, body, field):
    response = api.post("/sla/calendars", json=body)
    assert response.status_code == 422
    assert field in str(error_of(response))


def test_a_wrong_seed_is_refused(api, make):
    calendar = make.calendar()
    response = api.post(f"/sla/calendars/{calendar.id}/holidays/seed",
                        json={"country": "QQ", "year": 2026})
    assert response.status_code == 422 and "country" in error_of(response)["fields"]


def test_create_read_change_and_delete_a_policy(api, make):
    calendar, escalation = make.calendar(), make.queue()
    created = api.post("/sla/policies", json={
        "name": "Gold", "calendar_id": calendar.id, "warning_minutes": 30,
        "warning_actions": ["notify"], "breach_actions": ["notify", "move_queue"],
        "escalation_queue_id": escalation.id, "targets": [
            {"priority": "urgent", "first_response": 15, "resolution": 240},
            {"priority": "normal", "first_response": 60, "next_response": 120}]})
    assert created.status_code == 201, created.get_json()
    policy = created.get_json()
    assert policy["pause_statuses"] == ["pending", "on_hold"]
    assert {t["priority"]: t["first_response"] for t in policy["targets"]} == {
        "urgent": 15, "normal": 60}
    path = f"/sla/policies/{policy['id']}"
    changed = api.patch(path, json={"pause_statuses": [], "targets": []}).get_json()
    assert (changed["pause_statuses"], changed["targets"]) == ([], [])
    assert api.delete(path).status_code == 204


def test_a_wrong_policy_is_refused(api, make):
    twice = api.post("/sla/policies", json={"name": "Twice", "targets": [
        {"priority": "high", "first_response": 5}, {"priority": "high", "resolution": 60}]})
    assert twice.status_code == 422 and "one entry per priority" in str(error_of(twice))
    no_queue = api.post("/sla/policies", json={"name": "Move", "breach_actions": ["move_queue"]})
    assert no_queue.status_code == 422
    assert "escalation_queue_id" in error_of(no_queue)["fields"]
    zero = api.post("/sla/policies", json={"name": "Zero", "targets": [
        {"priority": "low", "first_response": 0}]})
    assert zero.status_code == 422


def test_what_a_queue_uses_is_not_deleted(api, make):
    calendar = make.calendar()
    policy = make.sla_policy(calendar_id=calendar.id)
    queue = make.queue()
    assert api.patch(f"/queues/{queue.id}", json={"sla_policy_id": policy.id}).status_code == 200
    refused = api.delete(f"/sla/policies/{policy.id}")
    assert refused.status_code == 409 and queue.name in error_of(refused)["message"]
    assert api.delete(f"/sla/calendars/{calendar.id}").status_code == 409
    unknown = api.patch(f"/queues/{queue.id}", json={"business_hours_id": 999_999})
    assert unknown.status_code == 404 and "business_hours_id" in error_of(unknown)["fields"]


def test_a_conversation_shows_its_clocks_and_breaches_are_listed(api, make):
    policy = make.sla_policy(calendar_id=make.calendar().id)
    queue = make.queue()
    api.patch(f"/queues/{queue.id}", json={"sla_policy_id": policy.id})
    customer = make.customer()
    opened_at = datetime(2026, 3, 3, 8, 0, tzinfo=PARIS)  # a Tuesday, before opening
    with clock_at(opened_at), make.app.app_context(), unit_of_work() as uow:
        conversation_id = conversations.open_conversation(
            uow, Actor("customer", customer.id), customer_id=customer.id,
            channel=Channel.EMAIL, queue_id=queue.id,
            first_message=NewMessage("Hello", Actor("customer", customer.id))).id
    body = api.get(f"/conversations/{conversation_id}").get_json()
    clock = body["sla"]
    assert (clock["policy"], clock["paused"], clock["next_response"]) == (
        policy.name, False, None)
    assert clock["first_response"]["due_at"] == "2026-03-03T09:00:00+00:00"  # 10:00 Paris
    assert clock["first_response"]["target_minutes"] == 60
    assert clock["resolution"]["state"] in ("running", "breached")
    listed = api.get("/conversations", query_string={"queue_id": queue.id}).get_json()
    assert listed["items"][0]["sla"]["policy"] == policy.name
    assert api.get(f"/conversations/{make.conversation().id}").get_json()["sla"] is None

    with make.app.app_context():
        check_clocks(datetime(2026, 3, 3, 10, 5, tzinfo=PARIS))
    breaches = api.get("/sla/breaches", query_string={"queue_id": queue.id}).get_json()
    assert [(b["conversation_id"], b["metric"]) for b in breaches["items"]] == [
        (conversation_id, "first_response")]
    assert api.get("/sla/breaches", query_string={
        "queue_id": queue.id, "since": "2026-03-04T00:00:00+00:00"}).get_json()["items"] == []
