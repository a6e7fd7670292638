"""POST /api/v1/calls/events: a PBX posts call events with a calls:ingest token, optionally
signed; retries are answered with the first answer, bad input with the field named."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from itertools import count

import pytest

from helpdesk.models import Role
from helpdesk.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers
from tests.e2e.api_helpers import ApiClient, error_of

SECRET = "shared with the PBX"
_ids = count(1)


@pytest.fixture(scope="module")
def pbx(module_app, module_make) -> ApiClient:
    """What a PBX holds: an admin's token with the calls:ingest scope only."""
    token = module_make.token(module_make.user(Role.ADMIN), ["calls:ingest"])
    return ApiClient(module_app.test_client(), token)


@pytest.fixture(scope="module")
def agent(module_make):
    return module_make.user(email="phone-agent@staff.example")


@pytest.fixture
def signing(module_app):
    """Signing required for the test's duration."""
    settings = module_app.config["COMPTOIR"]
    module_app.config["COMPTOIR"] = replace(settings, calls_signing_secret=SECRET)
    yield
    module_app.config["COMPTOIR"] = settings


def new_call(**fields) -> dict:
    return {"call_id": f"pbx-{next(_ids)}", "event": "ringing", "caller": "+33 6 11 22 33 44",
            "timestamp": "2026-11-26T10:15:00+01:00", **fields}


def post(client: ApiClient, body: dict, **headers):
    return client.post("/calls/events", json=body, headers=headers)


def test_an_event_answers_201_then_a_retry_200_with_the_same_body(pbx, agent, module_admin):
    body = new_call(agent=agent.email, called="+33 1 55 00 00 00")
    first, again = post(pbx, body), post(pbx, body)
    assert (first.status_code, again.status_code) == (201, 200), first.get_json()
    assert again.get_json() == first.get_json()
    result = first.get_json()
    assert (result["status"], result["agent_id"], result["callback"]) == (
        "ringing", agent.id, False)
    conversation = module_admin.get(f"/conversations/{result['conversation_id']}").get_json()
    assert (conversation["channel"], conversation["subject"]) == ("phone", "+33611223344")


def test_unix_seconds_are_a_timestamp_too_and_ended_before_answered_is_fine(pbx, agent):
    call = new_call(event="ended", timestamp=1_795_000_100)
    assert post(pbx, call).get_json()["status"] == "missed"
    answered = post(pbx, {**call, "event": "answered", "timestamp": 1_795_000_010,
                          "agent": agent.id}).get_json()
    assert (answered["status"], answered["talk_seconds"]) == ("completed", 90)


def test_a_missed_call_becomes_a_callback_in_the_named_queue(pbx, module_make, module_admin):
    queue = module_make.queue("Hotline")
    call = new_call(event="queued", queue="Hotline")
    post(pbx, call)
    missed = post(pbx, {**call, "event": "missed", "timestamp": "2026-11-26T09:16:00Z"})
    assert missed.get_json()["callback"] is True
    conversation = module_admin.get(
        f"/conversations/{missed.get_json()['conversation_id']}").get_json()
    assert conversation["queue"]["id"] == queue.id
    assert conversation["tags"] == ["callback", "missed"]


@pytest.mark.parametrize(("body", "field", "problem"), [
    ({"call_id": None}, "call_id", "Field may not be null"),
    ({"call_id": "  "}, "call_id", "must not be blank"),
    ({"event": "hung_up"}, "event", "Must be one of"),
    ({"timestamp": "2026-11-26T10:15:00"}, "timestamp", "add the time's offset"),
    ({"timestamp": "tomorrow"}, "timestamp", "is not an ISO 8601 time"),
    ({"timestamp": True}, "timestamp", "ISO 8601"),
    ({"queue": ""}, "queue", "give an id"),
    ({"agent": 0}, "agent", "give an id"),
    ({"recording_url": "ftp://pbx/r.wav"}, "recording_url", "Not a valid URL"),
    ({"caller": "hello"}, "caller", "'hello' is not a phone number"),
    ({"queue": "No such queue"}, "queue", "queue 'No such queue' does not exist"),
    ({"agent": "nobody@staff.example"}, "agent", "no staff account is"),
    ({"event": "answered"}, "agent", "needs the agent who answered"),
    ({"conversation_id": 2_000_000}, "conversation_id", "does not exist"),
    ({"colour": "red"}, "colour", "Unknown field"),
])
def test_bad_input_is_refused_with_422_naming_the_field(pbx, body, field, problem):
    response = post(pbx, new_call(**body))
    assert response.status_code == 422, response.get_json()
    error = error_of(response)
    assert field in error["fields"] and problem in str(error["fields"][field])


def test_a_missing_field_is_named(pbx):
    body = new_call()
    del body["timestamp"]
    assert "timestamp" in error_of(post(pbx, body))["fields"]


def test_the_body_must_be_json(pbx):
    response = pbx.post("/calls/events", data="call_id=1", content_type="text/plain")
    assert response.status_code == 415


def test_only_a_calls_ingest_token_may_post(module_app, module_make):
    admin = module_make.user(Role.ADMIN)
    without = ApiClient(module_app.test_client(), module_make.token(admin, ["email:ingest"]))
    agent = ApiClient(module_app.test_client(),
                      module_make.token(module_make.user(Role.AGENT), ["calls:ingest"]))
    anonymous = ApiClient(module_app.test_client())
    assert [post(c, new_call()).status_code for c in (without, agent, anonymous)] == [
        403, 403, 401]


# --- signed events ------------------------------------------------------------------------


def signed(body: dict, secret: str = SECRET, at: int | None = None) -> tuple[bytes, dict]:
    raw = json.dumps(body).encode()
    return raw, signed_headers(secret, int(time.time()) if at is None else at, raw)


def post_raw(client: ApiClient, raw: bytes, headers: dict):
    return client.post("/calls/events", data=raw, content_type="application/json",
                       headers=headers)


@pytest.mark.usefixtures("signing")
def test_with_signing_on_a_signed_event_is_accepted(pbx):
    raw, headers = signed(new_call())
    assert post_raw(pbx, raw, headers).status_code == 201


@pytest.mark.usefixtures("signing")
@pytest.mark.parametrize("tamper", ["unsigned", "other secret", "body changed", "old", "future"])
def test_with_signing_on_a_bad_or_replayed_signature_is_refused(pbx, tamper):
    body = new_call()
    raw, headers = signed(body, secret="other" if tamper == "other secret" else SECRET,
                          at={"old": int(time.time()) - 301,
                              "future": int(time.time()) + 3600}.get(tamper))
    if tamper == "unsigned":
        headers = {}
    if tamper == "body changed":
        raw = json.dumps({**body, "caller": "+33700000000"}).encode()
    response = post_raw(pbx, raw, headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "bad_signature"


@pytest.mark.usefixtures("signing")
def test_a_replay_within_the_window_is_only_a_duplicate(pbx):
    raw, headers = signed(new_call())
    first, replay = post_raw(pbx, raw, headers), post_raw(pbx, raw, headers)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.get_json() == first.get_json()


@pytest.mark.usefixtures("signing")
def test_the_signature_is_checked_before_the_body(pbx):
    response = post_raw(pbx, b"not json", {TIMESTAMP_HEADER: "1", SIGNATURE_HEADER: "x"})
    assert response.status_code == 401
    assert "away from the server's clock" in error_of(response)["message"]
