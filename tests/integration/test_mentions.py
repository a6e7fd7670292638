"""@mentions in internal notes notify the colleagues named, and only them."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.events import Actor
from helpdesk.extensions import unit_of_work
from helpdesk.models import Message, Notification, Role
from helpdesk.services import conversations
from helpdesk.services.conversations import NewMessage


def note(app, author, conversation_id, body, internal=True):
    with app.app_context(), unit_of_work() as uow:
        return conversations.post_message(uow, conversation_id, NewMessage(
            body=body, author=Actor("agent", author.id), internal=internal)).id


def notified(app):
    with app.app_context(), unit_of_work() as uow:
        return [(n.user_id, n.kind, n.text, n.conversation_id)
                for n in uow.session.scalars(select(Notification).order_by(Notification.id))]


def meta_of(app, message_id):
    with app.app_context(), unit_of_work() as uow:
        return uow.session.get(Message, message_id).meta


def test_a_mention_by_email_handle_or_name_handle_notifies_the_colleague(app, make):
    author = make.user(email="marie@staff.example", name="Marie Dupont")
    paul = make.user(email="p.martin@staff.example", name="Paul Martin")
    lea = make.user(Role.SUPERVISOR, email="lea@staff.example", name="Léa Roy")
    conv = make.conversation()
    message_id = note(app, author, conv.id, "@p.martin and @lea.roy: refund approved?")
    assert notified(app) == [
        (paul.id, "mention", "Marie Dupont: @p.martin and @lea.roy: refund approved?", conv.id),
        (lea.id, "mention", "Marie Dupont: @p.martin and @lea.roy: refund approved?", conv.id)]
    assert meta_of(app, message_id)["mentions"] == [
        {"handle": "p.martin", "user_id": paul.id}, {"handle": "lea.roy", "user_id": lea.id}]


def test_no_notification_for_unknown_handles_non_staff_or_the_author(app, make):
    author = make.user(email="marie@staff.example", name="Marie")
    make.user(Role.KNOWLEDGE_MANAGER, email="kim@staff.example")  # works no conversations
    make.user(email="gone@staff.example", active=False)
    customer = make.customer("Ada", email="ada@example.com")
    conv = make.conversation(customer)
    message_id = note(app, author, conv.id,
                      "@nobody @kim @gone @ada @marie — or write to ada@example.com")
    assert notified(app) == []
    assert meta_of(app, message_id)["mentions"] == [
        {"handle": "marie", "user_id": author.id}]  # highlighted, not notified


def test_a_handle_two_colleagues_share_names_nobody(app, make):
    author = make.user(email="lead@staff.example")
    make.user(email="sam@one.example", name="Sam A")
    make.user(email="sam@two.example", name="Sam B")
    conv = make.conversation()
    note(app, author, conv.id, "@sam please look")
    assert notified(app) == []


def test_replies_to_the_customer_mention_nobody(app, make):
    author = make.user(email="marie@staff.example")
    make.user(email="paul@staff.example")
    conv = make.conversation()
    note(app, author, conv.id, "Our colleague @paul will call you", internal=False)
    assert notified(app) == []


def test_a_retried_note_notifies_once(app, make):
    author = make.user(email="marie@staff.example")
    make.user(email="paul@staff.example")
    conv = make.conversation()
    for _ in range(2):
        with app.app_context(), unit_of_work() as uow:
            conversations.post_message(uow, conv.id, NewMessage(
                body="@paul see this", author=Actor("agent", author.id), internal=True,
                client_id="note-1"))
    assert len(notified(app)) == 1
