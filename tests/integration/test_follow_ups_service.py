"""``helpdesk.services.follow_ups``: a chat's problem continued in an email conversation."""

import pytest
from sqlalchemy import select

from helpdesk.errors import Conflict, NotFound
from helpdesk.events import Actor
from helpdesk.models import (
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    Identity,
    Message,
    TimelineEvent,
)
from helpdesk.services import conversations
from helpdesk.services.follow_ups import SUBJECT_CHARS, open_follow_up

PROBLEM = "The Luna lamp flickers\nsince I changed the bulb."


@pytest.fixture
def agent(make) -> Actor:
    return Actor("agent", make.user().id)


def thread(uow, conversation_id) -> list[Message]:
    return list(uow.session.scalars(select(Message).where(
        Message.conversation_id == conversation_id).order_by(Message.seq)))


def customer_with(uow, email) -> Customer | None:
    identity = uow.session.scalar(select(Identity).where(Identity.value == email))
    return identity.customer if identity else None


def test_an_unknown_address_gets_a_customer_and_the_problem_its_conversation(make, uow,
                                                                             agent):
    queue = make.queue()
    chat = make.conversation(channel=Channel.CHAT, queue_id=queue.id)
    follow_up = open_follow_up(uow, agent, chat.id, email=" Lea@Example.COM ",
                               description=PROBLEM)
    assert follow_up.created
    opened = uow.session.get(Conversation, follow_up.conversation_id)
    customer = customer_with(uow, "lea@example.com")
    assert (opened.channel, opened.customer_id, opened.queue_id) == (Channel.EMAIL,
                                                                      customer.id, queue.id)
    assert opened.subject == "The Luna lamp flickers"
    [first] = thread(uow, opened.id)
    assert (first.author_kind, first.author_id, first.body) == ("customer", customer.id,
                                                                PROBLEM)
    assert first.meta == {"follow_up_of": chat.id}


def test_the_chat_gets_an_internal_note_linking_the_follow_up(make, uow, agent):
    chat = make.conversation(channel=Channel.CHAT)
    follow_up = open_follow_up(uow, agent, chat.id, email="noah@example.com",
                               description=PROBLEM)
    note = thread(uow, chat.id)[-1]
    assert (note.internal, note.author_kind, note.author_id) == (True, "agent", agent.id)
    assert note.body == f"Follow-up by email opened for noah@example.com: " \
                        f"#{follow_up.conversation_id}."
    assert note.meta == {"follow_up_id": follow_up.conversation_id}
    history = uow.session.scalars(select(TimelineEvent.type).where(
        TimelineEvent.conversation_id == follow_up.conversation_id)).all()
    assert "conversation.opened" in history


def test_a_known_address_keeps_its_customer(make, uow, agent):
    known = make.customer(email="known@example.com")
    chat = make.conversation(channel=Channel.CHAT)
    follow_up = open_follow_up(uow, agent, chat.id, email="known@example.com",
                               description=PROBLEM, subject="Flickering lamp")
    opened = uow.session.get(Conversation, follow_up.conversation_id)
    assert (opened.customer_id, opened.subject) == (known.id, "Flickering lamp")


def test_the_same_description_again_finds_the_first_follow_up(make, uow, agent):
    chat = make.conversation(channel=Channel.CHAT)
    first = open_follow_up(uow, agent, chat.id, email="mia@example.com", description=PROBLEM)
    again = open_follow_up(uow, agent, chat.id, email="mia@example.com",
                           description=f"  {PROBLEM}\n")
    other = open_follow_up(uow, agent, chat.id, email="mia@example.com",
                           description="Another problem")
    assert (again.conversation_id, again.created) == (first.conversation_id, False)
    assert other.created and other.conversation_id != first.conversation_id
    assert len(thread(uow, chat.id)) == 3  # the customer's first message and two notes


def test_a_long_first_line_is_cut_for_the_subject(make, uow, agent):
    chat = make.conversation(channel=Channel.CHAT)
    follow_up = open_follow_up(uow, agent, chat.id, email="long@example.com",
                               description="word " * 100)
    subject = uow.session.get(Conversation, follow_up.conversation_id).subject
    assert len(subject) == SUBJECT_CHARS and subject.endswith("…")


def test_a_closed_chat_is_refused_and_nothing_is_stored(make, uow, agent):
    chat = make.conversation(channel=Channel.CHAT)
    conversations.change_status(uow, agent, chat.id, ConversationStatus.CLOSED)
    with pytest.raises(Conflict, match=f"conversation {chat.id} is closed"):
        open_follow_up(uow, agent, chat.id, email="late@example.com", description=PROBLEM)
    assert customer_with(uow, "late@example.com") is None


def test_an_unknown_chat_is_not_found(uow, agent):
    with pytest.raises(NotFound):
        open_follow_up(uow, agent, 4040, email="a@example.com", description=PROBLEM)
