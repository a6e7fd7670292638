"""Satisfaction over HTTP: staff read and note a rating (/api/v1/conversations/{id}/csat,
the conversation page), customers rate on the page the solved email links to."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Conversation, ConversationStatus, Customer, Role, TimelineEvent
from helpdesk.orm import clock_at
from helpdesk.services import conversations, csat
from tests.e2e.api_helpers import ApiClient, error_of
from tests.helpers import csrf_token

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def solved(app, make, subject="Where is my parcel?", language=None):
    customer = make.customer()
    if language:
        with app.app_context(), unit_of_work() as uow:
            uow.session.get(Customer, customer.id).language = language
            uow.commit()
    conversation = make.conversation(customer, subject=subject)
    with app.app_context(), unit_of_work() as uow:
        conversations.change_status(uow, SYSTEM, conversation.id, ConversationStatus.SOLVED)
    return conversation


def link(app, conversation_id, rating=None) -> str:
    token = csat.link_token(app.config["SECRET_KEY"], conversation_id)
    return f"/rate/{token}" + (f"?rating={rating}" if rating else "")


def stored(app, conversation_id) -> Conversation:
    with app.app_context():
        return db.session.get(Conversation, conversation_id)


def test_opening_the_link_records_nothing_and_the_button_does(app, client, make):
    conversation = solved(app, make)
    page = client.get(link(app, conversation.id, 4))
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "How did we do?" in text
    assert re.search(r'value="4" required checked', text)
    assert "Where is my parcel?" in text
    assert stored(app, conversation.id).csat_rating is None  # a link preview records nothing
    answer = client.post(link(app, conversation.id), data={
        "rating": "4", "comment": "Fast <b>and</b> kind", "csrf_token": csrf_token(
            client, link(app, conversation.id))})
    assert answer.status_code == 302 and answer.location.endswith("?done=1")
    thanks = client.get(answer.location).get_data(as_text=True)
    assert "Thank you for your answer!" in thanks
    assert "Fast &lt;b&gt;and&lt;/b&gt; kind" in thanks  # escaped
    rated = stored(app, conversation.id)
    assert (rated.csat_rating, rated.csat_comment) == (4, "Fast <b>and</b> kind")
    with app.app_context():
        event = db.session.scalar(select(TimelineEvent).where(
            TimelineEvent.type == "conversation.rated"))
    assert (event.actor_kind, event.actor_id) == ("customer", conversation.customer_id)


def test_the_page_speaks_the_customers_language_and_escapes_the_subject(app, client, make):
    conversation = solved(app, make, subject="<script>alert(1)</script>", language="fr-FR")
    text = client.get(link(app, conversation.id, 5)).get_data(as_text=True)
    assert '<html lang="fr">' in text and "Qu\u2019avez-vous pensé de notre aide ?" in text
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text


def test_the_answer_changes_for_seven_days_then_the_page_says_it_is_locked(app, client,
                                                                          make):
    conversation = solved(app, make)
    with app.app_context(), unit_of_work() as uow, clock_at(MONDAY):
        csat.rate(uow, Actor("customer", conversation.customer_id), conversation.id,
                  rating=2)
    with clock_at(MONDAY + timedelta(days=3)):
        token = csrf_token(client, link(app, conversation.id))
        client.post(link(app, conversation.id), data={"rating": "3", "csrf_token": token})
    assert stored(app, conversation.id).csat_rating == 3
    with clock_at(MONDAY + timedelta(days=8)):
        late = client.post(link(app, conversation.id), data={"rating": "5",
                                                             "csrf_token": token})
        page = client.get(link(app, conversation.id)).get_data(as_text=True)
    assert late.status_code == 409
    assert "can no longer be changed" in late.get_data(as_text=True)
    assert 'data-testid="rating-given"' in page and "rating-form" not in page
    assert stored(app, conversation.id).csat_rating == 3


def test_bad_and_expired_links_say_so(app, client, make, monkeypatch):
    conversation = solved(app, make)
    token = link(app, conversation.id)
    altered = client.get(token[:-3] + "abc")
    assert altered.status_code == 404 and "not one we sent" in altered.get_data(as_text=True)
    later = datetime.now(UTC).timestamp() + csat.LINK_MAX_AGE.total_seconds() + 5
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    expired = client.get(token)
    assert expired.status_code == 410 and "has expired" in expired.get_data(as_text=True)


def test_a_missing_rating_is_refused_on_the_page(app, client, make):
    conversation = solved(app, make)
    page = client.post(link(app, conversation.id), data={
        "csrf_token": csrf_token(client, link(app, conversation.id))})
    assert page.status_code == 422 and "choose a rating from 1 to 5" in page.get_data(
        as_text=True).lower()


def test_staff_read_and_note_ratings_through_the_api(app, make):
    agent = make.user(Role.AGENT)
    api = ApiClient(app.test_client(), make.token(agent, ["conversations:read",
                                                          "conversations:write"]))
    conversation = solved(app, make)
    empty = api.get(f"/conversations/{conversation.id}/csat").get_json()
    assert (empty["rating"], empty["given_at"], empty["editable_until"]) == (None, None, None)
    noted = api.put(f"/conversations/{conversation.id}/csat",
                    json={"rating": 5, "comment": "Said on the phone"})
    body = noted.get_json()
    assert noted.status_code == 200, body
    assert (body["rating"], body["comment"], body["channel"], body["by_assistant"]) == (
        5, "Said on the phone", "email", False)
    given = datetime.fromisoformat(body["given_at"])
    assert datetime.fromisoformat(body["editable_until"]) == given + timedelta(days=7)
    refused = api.put(f"/conversations/{conversation.id}/csat", json={"rating": 6})
    assert (refused.status_code, list(error_of(refused)["fields"])) == (422, ["rating"])
    open_one = make.conversation()
    early = api.put(f"/conversations/{open_one.id}/csat", json={"rating": 3})
    assert (early.status_code, error_of(early)["code"]) == (409, "conflict")


def test_the_conversation_page_shows_and_notes_the_rating(app, client, make, auth):
    agent = make.user(Role.AGENT)
    auth.login(agent.email)
    conversation = solved(app, make)
    page = f"/conversations/{conversation.id}"
    assert "Not rated yet." in client.get(page).get_data(as_text=True)
    client.post(f"{page}/csat", data={"rating": "2", "comment": "Too slow",
                                      "csrf_token": csrf_token(client, page)})
    text = client.get(page).get_data(as_text=True)
    assert "2 out of 5 (Dissatisfied)" in text and "Too slow" in text
    assert "rated the conversation 2 out of 5" in text  # the timeline


@pytest.mark.parametrize("rating", ["x", ""])
def test_the_conversation_form_needs_a_rating(app, client, make, auth, rating):
    agent = make.user(Role.AGENT)
    auth.login(agent.email)
    conversation = solved(app, make)
    page = f"/conversations/{conversation.id}"
    client.post(f"{page}/csat", data={"rating": rating, "csrf_token": csrf_token(client, page)})
    assert stored(app, conversation.id).csat_rating is None
