"""Satisfaction ratings (helpdesk.services.csat): one per conversation, changeable for seven
days, attributed when first given, recorded in the timeline; the email's signed links."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import (
    Channel,
    Conversation,
    ConversationStatus,
    OutboundEmail,
    OutboundKind,
    Owner,
    TimelineEvent,
)
from helpdesk.orm import clock_at
from helpdesk.realtime.payloads import conversation_payload
from helpdesk.services import conversations, csat
from helpdesk.services.conversations import NewMessage
from helpdesk.services.csat import LinkExpired, RatingLocked

SECRET = "test-secret"
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def customer_of(conversation):
    return Actor("customer", conversation.customer_id)


def solve(app, conversation_id, actor=SYSTEM):
    with app.app_context(), unit_of_work() as uow:
        conversations.change_status(uow, actor, conversation_id, ConversationStatus.SOLVED)


def say(app, conversation_id, author, body="Here you are", **extra):
    with app.app_context(), unit_of_work() as uow:
        conversations.post_message(uow, conversation_id, NewMessage(body=body, author=author,
                                                                    **extra))


def rate(app, conversation, rating, comment="", actor=None):
    with app.app_context(), unit_of_work() as uow:
        return csat.rate(uow, actor or customer_of(conversation), conversation.id,
                         rating=rating, comment=comment)


def load(app, conversation_id) -> Conversation:
    with app.app_context():
        return db.session.get(Conversation, conversation_id)


def rating_events(app, conversation_id) -> list[TimelineEvent]:
    with app.app_context():
        return list(db.session.scalars(select(TimelineEvent).where(
            TimelineEvent.conversation_id == conversation_id,
            TimelineEvent.type.in_(["conversation.rated", "conversation.rating_changed"]))
            .order_by(TimelineEvent.id)))


def bot_chat(app, make):
    customer = make.customer()
    with app.app_context(), unit_of_work() as uow:
        conversation = conversations.open_conversation(
            uow, Actor("customer", customer.id), customer_id=customer.id, channel=Channel.CHAT,
            owner=Owner.BOT, first_message=NewMessage(body="Where is A1001?",
                                                      author=Actor("customer", customer.id)))
    say(app, conversation.id, Actor("bot"), "It left yesterday.")
    return conversation


def test_the_first_rating_is_attributed_to_the_assignee_and_queue(app, make):
    agent, queue = make.user(), make.queue()
    conversation = make.conversation(queue_id=queue.id)
    with app.app_context(), unit_of_work() as uow:
        conversations.assign(uow, Actor("agent", agent.id), conversation.id,
                             assignee_id=agent.id)
    solve(app, conversation.id)
    with clock_at(MONDAY):
        rate(app, conversation, 4, "  Quick and kind  ")
    rated = load(app, conversation.id)
    assert (rated.csat_rating, rated.csat_comment, rated.csat_given_at) == (
        4, "Quick and kind", MONDAY)
    assert (rated.csat_agent_id, rated.csat_queue_id, rated.csat_by_assistant) == (
        agent.id, queue.id, False)
    [event] = rating_events(app, conversation.id)
    assert (event.type, event.actor_kind, event.actor_id, event.channel) == (
        "conversation.rated", "customer", conversation.customer_id, "email")
    assert event.payload == {"rating": 4, "comment": "Quick and kind", "agent_id": agent.id,
                             "queue_id": queue.id, "by_assistant": False}


def test_without_an_assignee_the_last_agent_who_replied_gets_the_rating(app, make):
    first, last = make.user(), make.user()
    conversation = make.conversation()
    say(app, conversation.id, Actor("agent", first.id))
    say(app, conversation.id, Actor("agent", last.id))
    say(app, conversation.id, Actor("agent", first.id), "note", internal=True)
    solve(app, conversation.id)
    rate(app, conversation, 5)
    assert load(app, conversation.id).csat_agent_id == last.id


def test_the_assistant_alone_gets_the_rating_when_no_human_took_part(app, make,
                                                                    silent_assistant):
    conversation = bot_chat(app, make)
    solve(app, conversation.id, Actor("bot"))
    rate(app, conversation, 5)
    rated = load(app, conversation.id)
    assert (rated.csat_by_assistant, rated.csat_agent_id) == (True, None)


@pytest.mark.parametrize("human", ["handoff", "note"])
def test_a_handoff_or_an_agents_note_means_a_human_took_part(app, make, silent_assistant,
                                                            human):
    conversation = bot_chat(app, make)
    agent = make.user()
    with app.app_context(), unit_of_work() as uow:
        if human == "handoff":
            conversations.hand_over(uow, Actor("bot"), conversation.id, owner=Owner.QUEUE,
                                    reason="asked_for_human")
            conversations.hand_back_to_bot(uow, uow.session.get(Conversation, conversation.id),
                                           "test")
            uow.commit()
    if human == "note":
        say(app, conversation.id, Actor("agent", agent.id), "checked", internal=True)
    solve(app, conversation.id, Actor("bot"))
    rate(app, conversation, 2)
    assert load(app, conversation.id).csat_by_assistant is False


def test_a_conversation_is_rated_once_solved(app, make):
    conversation = make.conversation()
    with pytest.raises(Conflict, match="rated once solved"):
        rate(app, conversation, 5)
    solve(app, conversation.id)
    with app.app_context(), unit_of_work() as uow:
        conversations.change_status(uow, Actor("system"), conversation.id,
                                    ConversationStatus.CLOSED)
    rate(app, conversation, 3)
    assert load(app, conversation.id).csat_rating == 3


def test_a_rating_changes_for_seven_days_then_is_locked(app, make):
    conversation = make.conversation()
    solve(app, conversation.id)
    with clock_at(MONDAY):
        rate(app, conversation, 2, "Slow")
    with clock_at(MONDAY + timedelta(days=7)):
        rate(app, conversation, 4, "Slow, but solved")
        rate(app, conversation, 4, "Slow, but solved")  # the same answer: nothing new
    with clock_at(MONDAY + timedelta(days=7, seconds=1)), \
            pytest.raises(RatingLocked, match="changed for 7 days; this one was given on "
                                              "2026-03-02 09:00 UTC"):
        rate(app, conversation, 5)
    rated = load(app, conversation.id)
    assert (rated.csat_rating, rated.csat_comment, rated.csat_given_at) == (
        4, "Slow, but solved", MONDAY)
    given, changed = rating_events(app, conversation.id)
    assert (given.type, changed.type) == ("conversation.rated", "conversation.rating_changed")
    assert changed.payload == {"rating": 4, "comment": "Slow, but solved",
                               "previous_rating": 2, "previous_comment": "Slow"}


def test_the_widget_is_told_when_to_ask_and_until_when_a_rating_changes(app, make):
    conversation = make.conversation(channel=Channel.CHAT)

    def told(at=MONDAY) -> tuple[bool, bool]:
        with app.app_context(), clock_at(at):
            payload = conversation_payload(db.session, conversation.id)
        return payload["csat"], payload["csat_change"]

    assert told() == (False, False)  # not solved yet
    solve(app, conversation.id)
    assert told() == (True, False)  # asked
    with clock_at(MONDAY):
        rate(app, conversation, 4)
    assert told(MONDAY + timedelta(days=7)) == (False, True)  # rated, still changeable
    assert told(MONDAY + timedelta(days=7, seconds=1)) == (False, False)  # locked


def test_changing_the_rating_keeps_the_first_attribution(app, make):
    first, second = make.user(), make.user()
    conversation = make.conversation()
    with app.app_context(), unit_of_work() as uow:
        conversations.assign(uow, Actor("agent", first.id), conversation.id,
                             assignee_id=first.id)
    solve(app, conversation.id)
    rate(app, conversation, 3)
    with app.app_context(), unit_of_work() as uow:
        conversations.assign(uow, Actor("agent", second.id), conversation.id,
                             assignee_id=second.id)
    rate(app, conversation, 1)
    assert load(app, conversation.id).csat_agent_id == first.id


@pytest.mark.parametrize(("rating", "comment", "field"), [
    (0, "", "rating"), (6, "", "rating"), (True, "", "rating"), ("5", "", "rating"),
    (None, "", "rating"), (5, "x" * (csat.MAX_COMMENT + 1), "comment")])
def test_bad_ratings_are_refused_naming_the_field(app, make, rating, comment, field):
    conversation = make.conversation()
    solve(app, conversation.id)
    with pytest.raises(ValidationFailed) as refused:
        rate(app, conversation, rating, comment)
    assert refused.value.field == field
    assert load(app, conversation.id).csat_rating is None


def test_staff_may_note_a_rating_for_the_customer(app, make):
    agent = make.user()
    conversation = make.conversation()
    solve(app, conversation.id)
    rate(app, conversation, 5, "said on the phone", actor=Actor("agent", agent.id))
    [event] = rating_events(app, conversation.id)
    assert (event.actor_kind, event.actor_id) == ("agent", agent.id)


# --- the email's links --------------------------------------------------------------------


def test_a_link_token_names_its_conversation_and_resists_tampering(app, make):
    conversation = make.conversation()
    token = csat.link_token(SECRET, conversation.id)
    with app.app_context():
        assert csat.conversation_of(db.session, SECRET, token).id == conversation.id
        with pytest.raises(NotFound):
            csat.conversation_of(db.session, SECRET, token[:-2] + "xx")
        with pytest.raises(NotFound):
            csat.conversation_of(db.session, "another secret", token)


def test_a_link_expires_after_seven_days(app, make, monkeypatch):
    conversation = make.conversation()
    token = csat.link_token(SECRET, conversation.id)
    later = datetime.now(UTC).timestamp() + csat.LINK_MAX_AGE.total_seconds() + 5
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    with app.app_context(), pytest.raises(LinkExpired, match="expired"):
        csat.conversation_of(db.session, SECRET, token)


def test_the_solved_email_carries_a_link_per_rating(app, make):
    app.config["COMPTOIR"] = replace(app.config["COMPTOIR"], mail_from="s@shop.example",
                                     public_url="https://help.shop.example/")
    conversation = make.conversation(channel=Channel.EMAIL)
    solve(app, conversation.id)
    with app.app_context():
        survey = db.session.scalar(select(OutboundEmail).where(
            OutboundEmail.conversation_id == conversation.id,
            OutboundEmail.kind == OutboundKind.SOLVED_SURVEY))
        links = [line.rsplit(": ", 1)[1] for line in survey.text.splitlines()
                 if "/rate/" in line]
        assert [link.rsplit("=", 1)[1] for link in links] == ["5", "4", "3", "2", "1"]
        assert all(f'href="{link}"' in survey.html for link in links)
        page, _query = links[0].split("?")
        assert page.startswith("https://help.shop.example/rate/")
        token = page.rsplit("/", 1)[1]
        assert csat.conversation_of(db.session, SECRET, token).id == conversation.id
