"""POST /api/v1/inbound/email: a mail relay hands over raw emails with an email:ingest token."""

from __future__ import annotations

import pytest

from helpdesk.models import Role
from tests.e2e.api_helpers import ApiClient, error_of
from tests.factories import raw_email

RFC822 = "message/rfc822"


@pytest.fixture(scope="module")
def relay(module_app, module_make) -> ApiClient:
    """What a mail relay holds: an admin's token with the email:ingest scope only."""
    token = module_make.token(module_make.user(Role.ADMIN), ["email:ingest"])
    return ApiClient(module_app.test_client(), token)


def _send(client: ApiClient, raw: bytes, content_type: str = RFC822):
    return client.post("/inbound/email", data=raw, content_type=content_type)


def test_a_new_email_answers_201_with_its_outcome(relay, module_admin):
    response = _send(relay, raw_email(sender="api-new@example.com", name="Api New"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["outcome"], body["thread_rule"], body["reason"]) == (
        "new_conversation", "new", "")
    assert body["source"].startswith("api token ")
    conversation = module_admin.get(f"/conversations/{body['conversation_id']}").get_json()
    assert (conversation["channel"], conversation["subject"]) == ("email", "Where is my parcel?")


def test_the_same_email_again_answers_200_duplicate(relay):
    raw = raw_email(sender="api-twice@example.com", message_id="api-twice@mail.example")
    first, again = _send(relay, raw), _send(relay, raw)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["outcome"] == "duplicate"
    assert again.get_json()["conversation_id"] == first.get_json()["conversation_id"]


def test_a_reply_threads_into_the_conversation(relay):
    first = _send(relay, raw_email(sender="api-reply@example.com",
                                   message_id="api-reply-1@mail.example")).get_json()
    reply = _send(relay, raw_email(sender="api-reply@example.com",
                                   in_reply_to="api-reply-1@mail.example")).get_json()
    assert (reply["outcome"], reply["thread_rule"], reply["conversation_id"]) == (
        "appended", "in_reply_to", first["conversation_id"])


def test_an_email_that_cannot_be_processed_is_kept_in_quarantine(relay):
    response = _send(relay, b"Subject: no sender\r\nMessage-ID: <api-q@x>\r\n\r\nHello\r\n")
    assert response.status_code == 201
    body = response.get_json()
    assert (body["outcome"], body["reason"], body["conversation_id"]) == (
        "quarantined", "the email has no sender address (From)", None)


def test_an_empty_body_is_a_clear_400(relay):
    response = _send(relay, b"")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "empty_email" and "empty" in error["message"]


def test_another_content_type_is_refused_with_415(relay):
    response = relay.post("/inbound/email", json={"raw": "From: a@b.example"})
    assert response.status_code == 415
    assert RFC822 in error_of(response)["message"]


def test_a_body_above_the_size_limit_is_refused_with_413(relay, module_app, monkeypatch):
    monkeypatch.setitem(module_app.config, "MAX_CONTENT_LENGTH", 1000)
    response = _send(relay, raw_email(body="x" * 2000))
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_entity_too_large"


def test_a_token_without_the_scope_is_refused(module_app, module_make):
    token = module_make.token(module_make.user(Role.ADMIN), ["conversations:write"])
    response = _send(ApiClient(module_app.test_client(), token), raw_email())
    assert response.status_code == 403
    assert "email:ingest" in error_of(response)["message"]
