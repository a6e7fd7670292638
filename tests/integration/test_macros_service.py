"""Macros: scopes, validation at save time, and applying one (text, reply, actions) as one
transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from helpdesk.events import Actor
from helpdesk.extensions import unit_of_work
from helpdesk.models import Conversation, ConversationStatus, Message, Role, TimelineEvent
from helpdesk.services import conversations, macros

BODY = "Hello {{customer.name}}, {{agent.name}} here about #{{conversation.id}}."


@pytest.fixture
def agent(make):
    return make.user(Role.AGENT, email="marie@staff.example", name="Marie Dupont")


def actor(user) -> Actor:
    return Actor("agent", user.id)


def create(app, user, **fields):
    with app.app_context(), unit_of_work() as uow:
        return macros.create_macro(uow, actor(user), **{"name": "Thanks", "body": BODY,
                                                        **fields})


def apply(app, user, conversation_id, macro_id, send=False):
    with app.app_context(), unit_of_work() as uow:
        return macros.apply_macro(uow, actor(user), conversation_id, macro_id, send=send)


def stored(app, conversation_id):
    """The conversation's status, priority and tags, its messages and history types."""
    with app.app_context(), unit_of_work() as uow:
        conversation = uow.session.get(Conversation, conversation_id)
        messages = [(m.id, m.body, m.author_id, m.internal) for m in uow.session.scalars(
            select(Message).where(Message.conversation_id == conversation_id)
            .order_by(Message.seq))]
        types = uow.session.scalars(select(TimelineEvent.type).where(
            TimelineEvent.conversation_id == conversation_id)).all()
        return (conversation.status, conversation.priority.value, conversation.tags, messages,
                types)


def test_apply_renders_for_the_conversation_without_posting(app, make, agent):
    conv = make.conversation(make.customer("Ada Client"))
    macro = create(app, agent)
    applied = apply(app, agent, conv.id, macro.id)
    assert applied.text == f"Hello Ada Client, Marie Dupont here about #{conv.id}."
    assert applied.message_id is None
    *_, messages, types = stored(app, conv.id)
    assert len(messages) == 1  # only the customer's
    assert "conversation.macro_applied" in types


def test_apply_and_send_posts_the_reply_then_applies_every_action(app, make, agent):
    conv = make.conversation(make.customer("Ada Client"))
    with app.app_context(), unit_of_work() as uow:
        conversations.set_tags(uow, actor(agent), conv.id, ["delivery", "todo"])
    macro = create(app, agent, actions={"status": "pending", "priority": "high",
                                        "add_tags": ["Waiting-Customer"],
                                        "remove_tags": ["todo"]})
    applied = apply(app, agent, conv.id, macro.id, send=True)
    status, priority, tags, messages, types = stored(app, conv.id)
    assert messages[-1] == (applied.message_id, applied.text, agent.id, False)
    # The reply opened the new conversation; the macro's status came after it.
    assert (status, priority) == (ConversationStatus.PENDING, "high")
    assert tags == ["delivery", "waiting-customer"]
    assert {"message.posted", "conversation.status_changed", "conversation.priority_changed",
            "conversation.tags_changed", "conversation.macro_applied"} <= set(types)


def test_a_failing_action_stores_nothing_not_even_the_reply(app, make, agent):
    conv = make.conversation()
    with app.app_context(), unit_of_work() as uow:
        conversations.change_status(uow, actor(agent), conv.id, ConversationStatus.SOLVED)
    macro = create(app, agent, actions={"status": "new"})  # solved → new is not allowed
    with pytest.raises(InvalidTransition):
        apply(app, agent, conv.id, macro.id, send=True)
    status, _, _, messages, types = stored(app, conv.id)
    assert status == ConversationStatus.SOLVED
    assert len(messages) == 1
    assert "conversation.macro_applied" not in types


def test_an_actions_only_macro_cannot_be_sent(app, make, agent):
    conv = make.conversation()
    macro = create(app, agent, name="Spam", body="", actions={"add_tags": ["spam"]})
    with pytest.raises(ValidationFailed, match="no text to send"):
        apply(app, agent, conv.id, macro.id, send=True)
    apply(app, agent, conv.id, macro.id)
    assert stored(app, conv.id)[2] == ["spam"]


def test_unknown_placeholders_and_bad_actions_are_refused_when_saved(app, agent):
    with pytest.raises(ValidationFailed, match=r"\{\{order.id\}\}"):
        create(app, agent, body="Your order {{order.id}}")
    with pytest.raises(ValidationFailed) as refused:
        create(app, agent, actions={"status": "done"})
    assert refused.value.field == "actions.status"
    with pytest.raises(ValidationFailed, match="unknown macro action 'assign'"):
        create(app, agent, actions={"assign": 3})
    with pytest.raises(ValidationFailed, match="both added and removed"):
        create(app, agent, actions={"add_tags": ["x"], "remove_tags": ["X "]})
    with pytest.raises(ValidationFailed, match="a text or at least one action"):
        create(app, agent, body="  ")


def test_personal_macros_are_their_owner_s_alone(app, make, agent):
    colleague = make.user(Role.AGENT)
    mine = create(app, agent)
    conv = make.conversation()
    with pytest.raises(NotFound):
        apply(app, colleague, conv.id, mine.id)
    with app.app_context(), unit_of_work() as uow:
        assert mine.id not in [m.id for m in macros.visible_macros(uow.session, colleague.id)]
        with pytest.raises(NotFound):
            macros.delete_macro(uow, actor(colleague), mine.id, may_share=True)


def test_shared_macros_need_the_manage_permission_to_create_or_change(app, make, agent):
    supervisor = make.user(Role.SUPERVISOR)
    with pytest.raises(PermissionDenied):
        create(app, agent, shared=True)
    shared = create(app, supervisor, shared=True, may_share=True)
    assert shared.owner_id is None
    with app.app_context(), unit_of_work() as uow:
        assert shared.id in [m.id for m in macros.visible_macros(uow.session, agent.id)]
        with pytest.raises(PermissionDenied):
            macros.update_macro(uow, actor(agent), shared.id, name="Mine now")
    with app.app_context(), unit_of_work() as uow:
        updated = macros.update_macro(uow, actor(supervisor), shared.id, may_share=True,
                                      name="Thanks (shared)")
        assert updated.name == "Thanks (shared)"


def test_names_are_unique_within_a_scope_only(app, make, agent):
    colleague = make.user(Role.AGENT)
    create(app, agent)
    create(app, colleague)  # the same name, someone else's
    create(app, make.user(Role.SUPERVISOR), shared=True, may_share=True)
    with pytest.raises(Conflict, match="already named 'Thanks'"):
        create(app, agent, name=" Thanks ")
