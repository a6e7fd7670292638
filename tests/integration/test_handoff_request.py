"""``bot.handoff.request_handoff``: an outside engine hands a chat to a queue it names."""

import pytest

from bot.handoff import request_handoff
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.events import SYSTEM
from helpdesk.extensions import unit_of_work
from helpdesk.models import Conversation, Message, Owner, Presence
from helpdesk.services import chat, staff


def bot_chat(app, site) -> int:
    with app.app_context(), unit_of_work() as uow:
        return chat.start_chat(uow, site, chat.Visitor(site.id, chat.new_visitor_token())).id


def stored(uow, conversation_id) -> Conversation:
    return uow.session.get(Conversation, conversation_id, populate_existing=True)


def said(uow, conversation_id) -> list[str]:
    return [m.body for m in uow.session.query(Message).filter_by(conversation_id=conversation_id)]


def test_the_named_queue_takes_the_chat_and_its_agents_decide_who_is_available(app, make, uow):
    billing_agent = make.user()
    billing = make.queue("Billing", member_ids=[billing_agent.id])
    site = make.site(queue_id=make.queue("Support").id)
    staff.set_presence(uow, SYSTEM, billing_agent.id, Presence.ONLINE)
    chat_id = bot_chat(app, site)

    request_handoff(uow, chat_id, "asked_for_human", "Billing")

    conversation = stored(uow, chat_id)
    assert (conversation.owner, conversation.queue_id) == (Owner.QUEUE, billing.id)
    assert conversation.handoff["agents_available"] is True
    assert said(uow, chat_id)[0].startswith("I'm passing you to a member of our team")


def test_without_a_name_the_sites_queue_takes_it(app, make, uow):
    support = make.queue()
    chat_id = bot_chat(app, make.site(queue_id=support.id))
    request_handoff(uow, chat_id, "low_confidence")
    conversation = stored(uow, chat_id)
    assert (conversation.owner, conversation.queue_id) == (Owner.QUEUE, support.id)
    assert conversation.handoff["reason"] == "low_confidence"


def test_an_unknown_queue_name_is_refused_and_nothing_changes(app, make, uow):
    chat_id = bot_chat(app, make.site())
    with pytest.raises(ValidationFailed, match="no queue is named 'Billing'") as refused:
        request_handoff(uow, chat_id, "asked_for_human", "Billing")
    assert refused.value.field == "queue"
    assert stored(uow, chat_id).owner == Owner.BOT


def test_a_repeat_or_a_conversation_that_is_no_bot_chat_is_left_as_it_is(app, make, uow):
    chat_id = bot_chat(app, make.site())
    request_handoff(uow, chat_id, "asked_for_human")
    request_handoff(uow, chat_id, "asked_for_human", make.queue("Later").name)
    assert stored(uow, chat_id).queue_id is None and len(said(uow, chat_id)) == 1

    email = make.conversation()
    request_handoff(uow, email.id, "asked_for_human")
    assert (stored(uow, email.id).owner, said(uow, email.id)) == (Owner.QUEUE,
                                                                 ["My parcel never arrived"])


def test_an_unknown_conversation_is_not_found(uow):
    with pytest.raises(NotFound):
        request_handoff(uow, 4040, "asked_for_human")
