"""Call events through the service: idempotent, order-independent, one phone conversation per
call, callers matched or created, callbacks for the calls nobody answered."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.errors import ValidationFailed
from helpdesk.events import SYSTEM, Actor, CallRinging
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import (
    Call,
    CallEvent,
    CallEventKind,
    CallStatus,
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    Identity,
    IdentityKind,
    Owner,
    Presence,
    Role,
    RoutingStrategy,
    TimelineEvent,
)
from helpdesk.orm import utcnow
from helpdesk.services import calls, conversations, customers, queues, staff

K = CallEventKind
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CALLER = "+33612345678"


def event(kind: CallEventKind, seconds: float = 0, call_id: str = "call-1", *,
          start: datetime = T0, **fields):
    return calls.CallEventIn(call_id=call_id, kind=kind, caller=fields.pop("caller", CALLER),
                             occurred_at=start + timedelta(seconds=seconds), **fields)


def ingest(app, *events, country_code=""):
    with app.app_context(), unit_of_work() as uow:
        return [calls.ingest(uow, e, country_code=country_code) for e in events]


def the_call(app, call_id="call-1") -> Call:
    with app.app_context():
        call = db.session.scalar(select(Call).where(Call.external_id == call_id))
        db.session.expunge(call)
        return call


def conversation_of(app, call: Call) -> Conversation:
    with app.app_context():
        conversation = db.session.get(Conversation, call.conversation_id)
        conversation.tags  # noqa: B018 -- loaded before leaving the session
        db.session.expunge(conversation)
        return conversation


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def desk(app, make):
    agent, colleague = make.user(email="camille@staff.example"), make.user()
    queue = make.queue("Phone FR", member_ids=[agent.id, colleague.id])
    return {"agent": agent, "colleague": colleague, "queue": queue}


def test_an_unknown_caller_becomes_a_customer_with_a_phone_conversation(app, desk):
    [result] = ingest(app, event(K.RINGING, caller="0033 6 12 34 56 78", called="+3315550000",
                                 queue="Phone FR", agent=desk["agent"].id))
    assert not result.duplicate
    call = the_call(app)
    assert (call.caller, call.called, call.status) == (CALLER, "+3315550000", CallStatus.RINGING)
    assert (call.queue_id, call.agent_id) == (desk["queue"].id, desk["agent"].id)
    with app.app_context():
        identity = db.session.scalar(select(Identity).where(Identity.value == CALLER))
        assert identity.kind == IdentityKind.PHONE and identity.customer_id == call.customer_id
    conversation = conversation_of(app, call)
    assert (conversation.channel, conversation.customer_id) == (Channel.PHONE, call.customer_id)
    assert (conversation.status, conversation.subject) == (ConversationStatus.NEW, CALLER)
    assert result.result == {
        "id": result.result["id"], "call_id": "call-1", "event": "ringing", "status": "ringing",
        "conversation_id": conversation.id, "customer_id": call.customer_id,
        "queue_id": desk["queue"].id, "agent_id": desk["agent"].id, "wait_seconds": None,
        "talk_seconds": None, "callback": False}


def test_a_known_caller_is_matched_by_their_phone_identity(app, make):
    known = make.customer("Ada Lovelace")
    with app.app_context(), unit_of_work() as uow:
        customers.add_identity(uow, SYSTEM, known.id, IdentityKind.PHONE, CALLER)
    ingest(app, event(K.QUEUED, caller="06 12 34 56 78"), country_code="33")
    assert the_call(app).customer_id == known.id
    assert count(app, Customer) == 1


def test_a_withheld_number_is_a_new_nameless_customer(app):
    ingest(app, event(K.QUEUED, caller="anonymous"), event(K.MISSED, 5, caller="anonymous"))
    call = the_call(app)
    assert call.caller == "" and call.status == CallStatus.MISSED
    assert count(app, Identity, Identity.customer_id == call.customer_id) == 0


def test_an_answered_call_is_assigned_then_solved_with_its_times(app, desk):
    agent = desk["agent"]
    ingest(app, event(K.QUEUED, 0, queue=desk["queue"].id),
           event(K.RINGING, 20, agent=agent.email), event(K.ANSWERED, 30, agent=agent.id))
    conversation = conversation_of(app, the_call(app))
    assert (conversation.assignee_id, conversation.queue_id) == (agent.id, desk["queue"].id)
    assert conversation.status == ConversationStatus.OPEN
    assert conversation.first_response_at == T0 + timedelta(seconds=30)
    [ended] = ingest(app, event(K.ENDED, 150, recording_url="https://pbx.example/r/1.mp3"))
    call = the_call(app)
    assert (call.status, call.wait_seconds, call.talk_seconds) == (CallStatus.COMPLETED, 30, 120)
    assert call.recording_url == "https://pbx.example/r/1.mp3"
    assert conversation_of(app, call).status == ConversationStatus.SOLVED
    assert ended.result["callback"] is False


def test_a_retry_gets_the_first_answer_and_changes_nothing(app, desk):
    answered = event(K.ANSWERED, 30, agent=desk["agent"].id)
    first, later, retry = ingest(app, answered, event(K.ENDED, 90), answered)
    assert (first.duplicate, retry.duplicate) == (False, True)
    assert retry.result == first.result  # the answer given then, not the call as it is now
    assert first.result["status"] == "in_progress" != later.result["status"]
    assert count(app, CallEvent) == 2
    assert count(app, TimelineEvent, TimelineEvent.type == "call.event") == 2


def test_ended_before_answered_is_corrected_when_the_answer_arrives(app, desk):
    """The PBX's webhooks crossed: the call looks missed (a callback item), then the answer,
    older, arrives and the call is what it really was."""
    agent = desk["agent"]
    ingest(app, event(K.RINGING, 0, queue="Phone FR", agent=agent.id), event(K.ENDED, 100))
    missed = the_call(app)
    assert missed.status == CallStatus.MISSED
    assert conversation_of(app, missed).tags == ["callback", "missed"]

    ingest(app, event(K.ANSWERED, 10, agent=agent.id))
    call = the_call(app)
    assert (call.status, call.wait_seconds, call.talk_seconds) == (CallStatus.COMPLETED, 10, 90)
    conversation = conversation_of(app, call)
    assert (conversation.tags, conversation.assignee_id) == ([], agent.id)
    assert conversation.status == ConversationStatus.SOLVED


def test_the_same_events_in_any_order_give_the_same_call(app, desk):
    agent_id = desk["agent"].id
    story = [event(K.QUEUED, 0, queue="Phone FR"), event(K.RINGING, 15, agent=agent_id),
             event(K.ANSWERED, 25, agent=agent_id), event(K.ENDED, 85)]
    ingest(app, *story)
    ingest(app, *[event(e.kind, (e.occurred_at - T0).total_seconds(), call_id="call-2",
                        queue=e.queue, agent=e.agent) for e in reversed(story)])
    figures = [(c.status, c.wait_seconds, c.talk_seconds, c.agent_id, c.queue_id,
                c.started_at, c.ended_at) for c in (the_call(app), the_call(app, "call-2"))]
    assert figures[0] == figures[1]


def test_a_missed_call_waits_in_its_queue_as_a_callback_item(app, desk):
    [result] = ingest(app, event(K.QUEUED, 0, queue="Phone FR"), event(K.MISSED, 45))[-1:]
    conversation = conversation_of(app, the_call(app))
    assert (conversation.queue_id, conversation.owner) == (desk["queue"].id, Owner.QUEUE)
    assert conversation.assignee_id is None
    assert conversation.status == ConversationStatus.NEW
    assert conversation.tags == ["callback", "missed"]
    assert result.result["callback"] is True and result.result["wait_seconds"] == 45


def test_routing_hands_the_callback_to_an_agent_of_the_queue(app, make):
    agent = make.user()
    with app.app_context(), unit_of_work() as uow:
        queue = queues.create_queue(uow, SYSTEM, name="Callbacks", channels=["phone"],
                                    member_ids=[agent.id],
                                    routing_strategy=RoutingStrategy.ROUND_ROBIN)
    with app.app_context(), unit_of_work() as uow:
        staff.set_presence(uow, Actor("agent", agent.id), agent.id, Presence.ONLINE)
    ingest(app, event(K.QUEUED, 0, queue=queue.id), event(K.VOICEMAIL, 30,
                                                          recording_url="https://r.example/v"))
    conversation = conversation_of(app, the_call(app))
    assert conversation.tags == ["callback", "voicemail"]
    assert conversation.assignee_id == agent.id


def test_while_it_rings_the_conversation_waits_for_the_phone_not_for_routing(app, make):
    """A live call is the PBX's to route: its conversation stays out of the queues until
    someone answers or nobody did."""
    agent = make.user()
    with app.app_context(), unit_of_work() as uow:
        queue = queues.create_queue(uow, SYSTEM, name="Live", channels=["phone"],
                                    member_ids=[agent.id],
                                    routing_strategy=RoutingStrategy.ROUND_ROBIN)
        staff.set_presence(uow, Actor("agent", agent.id), agent.id, Presence.ONLINE)
    ingest(app, event(K.QUEUED, 0, queue=queue.id))
    conversation = conversation_of(app, the_call(app))
    assert (conversation.queue_id, conversation.assignee_id) == (None, None)


def test_a_transfer_gives_the_conversation_to_the_next_agent(app, desk):
    agent, colleague = desk["agent"], desk["colleague"]
    ingest(app, event(K.ANSWERED, 0, agent=agent.id),
           event(K.TRANSFERRED, 60, agent=colleague.email))
    assert conversation_of(app, the_call(app)).assignee_id == colleague.id
    ingest(app, event(K.TRANSFERRED, 90, agent=agent.id))  # and back: a second transfer
    assert conversation_of(app, the_call(app)).assignee_id == agent.id
    assert count(app, CallEvent) == 3


def test_a_call_attached_to_an_open_conversation_leaves_it_to_its_agent(app, desk, make):
    email = make.conversation(subject="My invoice")
    ingest(app, event(K.ANSWERED, 0, agent=desk["agent"].id, conversation_id=email.id),
           event(K.ENDED, 60))
    call = the_call(app)
    assert (call.conversation_id, call.owns_conversation) == (email.id, False)
    conversation = conversation_of(app, call)
    assert (conversation.status, conversation.assignee_id) == (ConversationStatus.NEW, None)
    assert count(app, Conversation, Conversation.channel == Channel.PHONE) == 0
    assert count(app, TimelineEvent, TimelineEvent.conversation_id == email.id,
                 TimelineEvent.type == "call.event") == 2


def test_attaching_a_call_later_closes_the_conversation_it_opened(app, desk, make):
    email = make.conversation(subject="My invoice")
    ingest(app, event(K.RINGING, 0, agent=desk["agent"].id))
    opened = the_call(app).conversation_id
    ingest(app, event(K.ANSWERED, 5, agent=desk["agent"].id, conversation_id=email.id))
    assert the_call(app).conversation_id == email.id
    with app.app_context():
        assert db.session.get(Conversation, opened).status == ConversationStatus.CLOSED


def test_ringing_an_agent_asks_for_a_screen_pop_once_and_only_while_it_rings(app, desk):
    agent_id = desk["agent"].id
    popped = []
    app.extensions["comptoir.events"].subscribe(
        CallRinging, lambda e: popped.append((e.call_id, e.user_id)))
    ingest(app, event(K.RINGING, 0, agent=agent_id), event(K.RINGING, 0, agent=agent_id))
    ingest(app, event(K.ENDED, 30, call_id="late"), event(K.RINGING, 0, call_id="late",
                                                          agent=agent_id))
    assert popped == [(the_call(app).id, agent_id)]


def test_the_screen_pop_carries_the_profile_and_the_latest_history(app, desk, make):
    customer = make.customer("Ada Lovelace", email="ada@example.com")
    with app.app_context(), unit_of_work() as uow:
        customers.add_identity(uow, SYSTEM, customer.id, IdentityKind.PHONE, CALLER)
    make.conversation(customer, subject="Broken lamp")
    ingest(app, event(K.RINGING, agent=desk["agent"].id, queue="Phone FR", start=utcnow()))
    call = the_call(app)
    with app.app_context():
        pop = calls.screen_pop(db.session, call.id)
    assert pop["call"]["caller"] == CALLER and pop["call"]["queue"]["name"] == "Phone FR"
    assert pop["call"]["conversation_id"] == call.conversation_id
    assert pop["customer"]["name"] == "Ada Lovelace"
    assert {"kind": "email", "value": "ada@example.com"} in pop["customer"]["identities"]
    assert any(e["type"] == "call.event" for e in pop["timeline"])
    assert any(e["payload"].get("subject") == "Broken lamp" for e in pop["timeline"])


def test_the_wallboard_counts_waiting_and_abandoned_calls(app, desk):
    queue_id = desk["queue"].id
    now = T0 + timedelta(hours=1)
    ingest(app, event(K.QUEUED, 0, "waiting", queue=queue_id),
           event(K.RINGING, 0, "ringing", queue=queue_id, agent=desk["agent"].id),
           event(K.QUEUED, 0, "gone", queue=queue_id), event(K.MISSED, 30, "gone"),
           event(K.QUEUED, -86400, "yesterday", queue=queue_id),
           event(K.MISSED, -86000, "yesterday"),
           event(K.QUEUED, 0, "talking", queue=queue_id),
           event(K.ANSWERED, 5, "talking", agent=desk["agent"].id))
    with app.app_context():
        assert calls.waiting(db.session, queue_id) == 2
        assert calls.abandoned_today(db.session, queue_id, now) == 1


@pytest.mark.parametrize(("fields", "field", "problem"), [
    ({"queue": "Nope"}, "queue", "queue 'Nope' does not exist"),
    ({"queue": 999}, "queue", "queue 999 does not exist"),
    ({"agent": "who@staff.example"}, "agent", "no staff account is 'who@staff.example'"),
    ({"conversation_id": 999}, "conversation_id", "conversation 999 does not exist"),
    ({"caller": "call me maybe"}, "caller", "is not a phone number"),
    ({"caller": "+123"}, "caller", "is not a phone number"),
    ({"called": "x"}, "called", "is not a phone number"),
])
def test_a_bad_reference_is_refused_naming_the_field(app, fields, field, problem):
    with pytest.raises(ValidationFailed, match=problem) as refused:
        ingest(app, event(K.QUEUED, **fields))
    assert refused.value.field == field
    assert count(app, Call) == 0


def test_what_an_event_needs_is_checked(app, make):
    gone = make.user(Role.AGENT)
    with app.app_context(), unit_of_work() as uow:
        staff.update_user(uow, SYSTEM, gone.id, active=False)
    for kind, fields, problem in [(K.ANSWERED, {}, "needs the agent who answered"),
                                  (K.TRANSFERRED, {}, "needs the agent or the queue"),
                                  (K.ANSWERED, {"agent": gone.id}, "is deactivated")]:
        with pytest.raises(ValidationFailed, match=problem):
            ingest(app, event(kind, **fields))


def test_a_closed_conversation_cannot_take_a_call(app, make):
    conversation = make.conversation()
    with app.app_context(), unit_of_work() as uow:
        conversations.change_status(uow, SYSTEM, conversation.id, ConversationStatus.CLOSED)
    with pytest.raises(ValidationFailed, match="is closed"):
        ingest(app, event(K.QUEUED, conversation_id=conversation.id))


def test_agent_notes_are_saved_in_the_history(app, desk):
    ingest(app, event(K.ANSWERED, 0, agent=desk["agent"].id))
    call = the_call(app)
    with app.app_context(), unit_of_work() as uow:
        calls.save_notes(uow, Actor("agent", desk["agent"].id), call.id, "  Wants a refund ")
    assert the_call(app).notes == "Wants a refund"
    assert count(app, TimelineEvent, TimelineEvent.type == "call.notes_saved") == 1
    with app.app_context(), unit_of_work() as uow, pytest.raises(ValidationFailed):
        calls.save_notes(uow, Actor("agent", desk["agent"].id), call.id, "x" * 10_001)


def test_concurrent_copies_and_events_of_a_new_call_make_one_call(app, desk):
    """Two copies of the first event and another event of the same call, at once (several
    app processes): one call, one conversation, each event stored once."""
    agent_id = desk["agent"].id
    sent = [event(K.RINGING, 0, agent=agent_id), event(K.RINGING, 0, agent=agent_id),
            event(K.ANSWERED, 5, agent=agent_id), event(K.QUEUED, -5)]
    barrier, outcomes = threading.Barrier(len(sent)), []

    def post(one):
        with app.app_context(), unit_of_work() as uow:
            barrier.wait()
            outcomes.append(calls.ingest(uow, one).duplicate)

    threads = [threading.Thread(target=post, args=(one,)) for one in sent]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False, False, False, True]
    assert (count(app, Call), count(app, CallEvent)) == (1, 3)
    assert count(app, Conversation) == 1
    assert the_call(app).status == CallStatus.IN_PROGRESS
