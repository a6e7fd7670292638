"""The conversation services against a real database (SQLite and PostgreSQL)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from helpdesk.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import unit_of_work
from helpdesk.models import (
    Channel,
    Conversation,
    ConversationStatus,
    Message,
    Owner,
    Priority,
    Role,
    TimelineEvent,
)
from helpdesk.services import conversations, staff
from helpdesk.services.conversations import NewMessage

S = ConversationStatus


def seqs(session, conversation_id):
    return list(session.scalars(select(Message.seq).where(Message.conversation_id ==
                                                          conversation_id).order_by(Message.seq)))


def history(session, conversation_id):
    return [(e.type, e.actor_kind, e.payload) for e in session.scalars(
        select(TimelineEvent).where(TimelineEvent.conversation_id == conversation_id)
        .order_by(TimelineEvent.id))]


def customer_of(conv):
    return Actor("customer", conv.customer_id)


def fresh(uow, conv):
    return uow.session.get(Conversation, conv.id, populate_existing=True)


def test_messages_get_consecutive_seq_and_retries_do_not_duplicate(make, uow):
    conv = make.conversation()
    agent = make.user()
    reply = NewMessage(body="On its way", author=Actor("agent", agent.id), client_id="c-1")
    first = conversations.post_message(uow, conv.id, reply)
    again = conversations.post_message(uow, conv.id, reply)
    assert (first.seq, again.id) == (2, first.id)
    assert seqs(uow.session, conv.id) == [1, 2]
    assert fresh(uow, conv).last_seq == 2


def in_threads(app, work, arguments):
    """Run ``work(uow, argument)`` in one thread per argument, each with its own unit of work,
    all released at once."""
    start = threading.Barrier(len(arguments))

    def run(argument):
        with app.app_context(), unit_of_work() as uow:
            start.wait()
            return work(uow, argument)

    with ThreadPoolExecutor(len(arguments)) as pool:
        return list(pool.map(run, arguments))


def test_seq_is_gap_free_under_concurrent_posting(app, make, uow):
    conv = make.conversation()
    agents = [Actor("agent", make.user().id) for _ in range(5)]

    def post_four(uow, author):
        return [conversations.post_message(uow, conv.id, NewMessage(f"reply {i}", author)).seq
                for i in range(4)]

    posted = [seq for batch in in_threads(app, post_four, agents) for seq in batch]
    assert sorted(posted) == list(range(2, 22))
    assert seqs(uow.session, conv.id) == list(range(1, 22))
    assert fresh(uow, conv).last_seq == 21
    assert len(history(uow.session, conv.id)) == 2 + 20 + 1  # opened, messages, new → open


def test_a_concurrent_retry_stores_the_message_once(app, make, uow):
    conv = make.conversation()
    retry = NewMessage("Did you get my photo?", customer_of(conv), client_id="widget-42")
    ids = in_threads(app, lambda uow, _: conversations.post_message(uow, conv.id, retry).id,
                     list(range(5)))
    assert len(set(ids)) == 1
    assert seqs(uow.session, conv.id) == [1, 2]
    posted = [e for e in history(uow.session, conv.id) if e[0] == "message.posted"]
    assert len(posted) == 2


def test_same_client_id_in_another_conversation_is_another_message(make, uow):
    customer = make.customer()
    first, second = (make.conversation(customer=customer) for _ in range(2))
    note = NewMessage("same text", Actor("customer", customer.id), client_id="c-1")
    ids = {conversations.post_message(uow, c.id, note).id for c in (first, second)}
    assert len(ids) == 2


def test_agent_reply_stamps_first_response_and_opens(make, uow):
    conv = make.conversation()
    agent = make.user()
    conversations.post_message(uow, conv.id, NewMessage("Hello", Actor("agent", agent.id)))
    stored = fresh(uow, conv)
    assert stored.first_response_at is not None
    assert stored.status == S.OPEN
    assert history(uow.session, conv.id)[-1] == ("conversation.status_changed", "agent",
                                                 {"from": "new", "to": "open"})


def test_first_response_comes_only_from_a_public_agent_reply(make, uow):
    conv = make.conversation()
    agent = Actor("agent", make.user().id)
    conversations.post_message(uow, conv.id, NewMessage("Checking the carrier", agent,
                                                        internal=True))
    conversations.post_message(uow, conv.id, NewMessage("I am the assistant", Actor("bot")))
    conversations.post_message(uow, conv.id, NewMessage("Still waiting", customer_of(conv)))
    stored = fresh(uow, conv)
    assert (stored.first_response_at, stored.status) == (None, S.NEW)
    reply = conversations.post_message(uow, conv.id, NewMessage("Found it", agent))
    conversations.post_message(uow, conv.id, NewMessage("Anything else?", agent))
    assert fresh(uow, conv).first_response_at == reply.created_at


def test_internal_note_by_a_customer_is_refused(make, uow):
    conv = make.conversation()
    with pytest.raises(ValidationFailed) as refused:
        conversations.post_message(uow, conv.id, NewMessage("psst", customer_of(conv),
                                                            internal=True))
    assert refused.value.field == "internal"


def test_a_customer_writes_only_in_their_own_conversations(make, uow):
    conv = make.conversation()
    stranger = make.customer()
    with pytest.raises(PermissionDenied):
        conversations.post_message(uow, conv.id, NewMessage("hi", Actor("customer", stranger.id)))


def test_empty_or_oversized_body_is_refused(make, uow):
    conv = make.conversation()
    for body in ["", "   \n ", "x" * (conversations.MAX_BODY + 1)]:
        with pytest.raises(ValidationFailed) as refused:
            conversations.post_message(uow, conv.id, NewMessage(body, customer_of(conv)))
        assert refused.value.field == "body"
    assert seqs(uow.session, conv.id) == [1]


def test_customer_reply_reopens_a_waiting_conversation(make, uow):
    conv = make.conversation()
    agent = Actor("agent", make.user().id)
    for waiting in (S.SOLVED, S.PENDING):
        conversations.change_status(uow, agent, conv.id, waiting)
        conversations.post_message(uow, conv.id, NewMessage("It broke again", customer_of(conv)))
        stored = fresh(uow, conv)
        assert (stored.status, stored.solved_at) == (S.OPEN, None)
        assert [e[:2] for e in history(uow.session, conv.id)[-2:]] == [
            ("message.posted", "customer"), ("conversation.status_changed", "customer")]
        assert history(uow.session, conv.id)[-1][2] == {"from": waiting.value, "to": "open"}


def test_customer_reply_leaves_an_on_hold_conversation_on_hold(make, uow):
    conv = make.conversation()
    conversations.change_status(uow, Actor("agent", None), conv.id, S.ON_HOLD)
    conversations.post_message(uow, conv.id, NewMessage("Any news?", customer_of(conv)))
    assert fresh(uow, conv).status == S.ON_HOLD


def test_change_status_records_history_and_audit(make, uow):
    conv = make.conversation()
    agent = make.user()
    conversations.change_status(uow, Actor("agent", agent.id), conv.id, S.SOLVED)
    assert fresh(uow, conv).solved_at is not None
    assert history(uow.session, conv.id)[-1] == ("conversation.status_changed", "agent",
                                                 {"from": "new", "to": "solved"})


def test_assign_records_history_and_opens_a_new_conversation(make, uow):
    conv = make.conversation()
    agent = make.user()
    conversations.assign(uow, Actor("agent", agent.id), conv.id, assignee_id=agent.id)
    stored = fresh(uow, conv)
    assert (stored.assignee_id, stored.owner, stored.status) == (agent.id, Owner.AGENT, S.OPEN)
    assert [e[0] for e in history(uow.session, conv.id)][-2:] == [
        "conversation.assigned", "conversation.status_changed"]


def test_unassign_gives_the_conversation_back_to_its_queue(make, uow):
    agent = make.user()
    queue = make.queue(member_ids=[agent.id])
    conv = make.conversation(queue_id=queue.id)
    conversations.assign(uow, Actor("agent", agent.id), conv.id, assignee_id=agent.id)
    conversations.assign(uow, Actor("agent", agent.id), conv.id, assignee_id=None)
    stored = fresh(uow, conv)
    assert (stored.assignee_id, stored.owner, stored.queue_id) == (None, Owner.QUEUE, queue.id)


def test_assign_refuses_who_does_not_work_conversations(make, uow):
    conv = make.conversation()
    manager, former = make.user(Role.KNOWLEDGE_MANAGER), make.user(Role.AGENT)
    staff.update_user(uow, SYSTEM, former.id, active=False)
    for user in (manager, former):
        with pytest.raises(ValidationFailed) as refused:
            conversations.assign(uow, SYSTEM, conv.id, assignee_id=user.id)
        assert refused.value.field == "assignee_id"
        uow.rollback()
    assert fresh(uow, conv).assignee_id is None


def test_tags_are_normalized_and_changes_recorded(make, uow):
    conv = make.conversation()
    agent = Actor("agent", make.user().id)
    conversations.set_tags(uow, agent, conv.id, ["VIP", " billing ", "vip"])
    conversations.set_tags(uow, agent, conv.id, ["billing", "refund"])
    assert fresh(uow, conv).tags == ["billing", "refund"]
    assert [e[2] for e in history(uow.session, conv.id) if e[0] == "conversation.tags_changed"] \
        == [{"added": ["billing", "vip"], "removed": []},
            {"added": ["refund"], "removed": ["vip"]}]
    with pytest.raises(ValidationFailed):
        conversations.set_tags(uow, agent, conv.id, ["x" * 65])


def test_priority_change_is_recorded_once(make, uow):
    conv = make.conversation()
    agent = Actor("agent", make.user().id)
    conversations.set_priority(uow, agent, conv.id, Priority.URGENT)
    conversations.set_priority(uow, agent, conv.id, Priority.URGENT)
    changes = [e for e in history(uow.session, conv.id)
               if e[0] == "conversation.priority_changed"]
    assert changes == [("conversation.priority_changed", "agent",
                        {"from": "normal", "to": "urgent"})]


def test_open_conversation_with_an_unknown_queue_is_not_found(make, uow):
    customer = make.customer()
    with pytest.raises(NotFound) as missing:
        conversations.open_conversation(uow, Actor("customer", customer.id),
                                        customer_id=customer.id, channel=Channel.CHAT,
                                        queue_id=4040)
    assert missing.value.field == "queue_id"


def test_closed_conversation_refuses_status_and_messages(make, uow):
    conv = make.conversation()
    actor = Actor("agent", make.user().id)
    conversations.change_status(uow, actor, conv.id, S.CLOSED)
    with pytest.raises(InvalidTransition):
        conversations.change_status(uow, actor, conv.id, S.OPEN)
    with pytest.raises(Conflict):
        conversations.post_message(uow, conv.id, NewMessage("hi", actor))


def test_failed_service_writes_nothing(make, app):
    conv = make.conversation()
    with app.app_context(), unit_of_work() as uow, pytest.raises(ValidationFailed):
        conversations.post_message(uow, conv.id, NewMessage("   ", Actor("agent", 1)))
    with app.app_context(), unit_of_work() as uow:
        assert len(history(uow.session, conv.id)) == 2  # opened + first message only
        assert seqs(uow.session, conv.id) == [1]
