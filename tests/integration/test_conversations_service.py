"""The conversation services against a real database (SQLite and PostgreSQL)."""

import pytest
from sqlalchemy import select

from helpdesk.errors import Conflict, InvalidTransition, ValidationFailed
from helpdesk.events import Actor
from helpdesk.extensions import unit_of_work
from helpdesk.models import ConversationStatus, Message, Owner, TimelineEvent
from helpdesk.services import conversations
from helpdesk.services.conversations import NewMessage


def test_messages_get_consecutive_seq_and_retries_do_not_duplicate(make, uow):
    conv = make.conversation()
    agent = make.user()
    reply = NewMessage(body="On its way", author=Actor("agent", agent.id), client_id="c-1")
    first = conversations.post_message(uow, conv.id, reply)
    again = conversations.post_message(uow, conv.id, reply)
    assert (first.seq, again.id) == (2, first.id)
    seqs = uow.session.scalars(select(Message.seq).where(Message.conversation_id == conv.id))
    assert list(seqs) == [1, 2]


def test_agent_reply_stamps_first_response_and_opens(make, uow):
    conv = make.conversation()
    agent = make.user()
    conversations.post_message(uow, conv.id, NewMessage("Hello", Actor("agent", agent.id)))
    stored = uow.session.get(type(conv), conv.id)
    assert stored.first_response_at is not None
    assert stored.status == ConversationStatus.OPEN


def test_assign_records_history_and_audit(make, uow):
    conv = make.conversation()
    agent = make.user()
    conversations.assign(uow, Actor("agent", agent.id), conv.id, assignee_id=agent.id)
    stored = uow.session.get(type(conv), conv.id)
    assert (stored.assignee_id, stored.owner) == (agent.id, Owner.AGENT)
    types = uow.session.scalars(select(TimelineEvent.type)
                                .where(TimelineEvent.conversation_id == conv.id))
    assert "conversation.assigned" in list(types)


def test_closed_conversation_refuses_status_and_messages(make, uow):
    conv = make.conversation()
    actor = Actor("agent", make.user().id)
    conversations.change_status(uow, actor, conv.id, ConversationStatus.CLOSED)
    with pytest.raises(InvalidTransition):
        conversations.change_status(uow, actor, conv.id, ConversationStatus.OPEN)
    with pytest.raises(Conflict):
        conversations.post_message(uow, conv.id, NewMessage("hi", actor))


def test_failed_service_writes_nothing(make, app):
    conv = make.conversation()
    with app.app_context(), unit_of_work() as uow:
        with pytest.raises(ValidationFailed):
            conversations.post_message(uow, conv.id, NewMessage("   ", Actor("agent", 1)))
        count = len(list(uow.session.scalars(
            select(TimelineEvent).where(TimelineEvent.conversation_id == conv.id))))
    assert count == 2  # opened + first message only
