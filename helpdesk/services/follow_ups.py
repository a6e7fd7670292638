"""Follow-ups by email: what a chat could not settle goes on in an email conversation.

An assistant (Rasa's report-a-problem form) collects an address and what happened; the
customer owning that address (created when unknown) gets a new email conversation whose
first message is the description, and the chat gets an internal note linking to it. The
note's ``client_id`` is derived from the description, so asking again with the same one
finds the conversation opened the first time (the idempotency of ``post_message``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.errors import Conflict
from helpdesk.events import Actor
from helpdesk.models import Channel, Conversation, IdentityKind, Message
from helpdesk.services import conversations, customers
from helpdesk.services.common import get_or_404
from helpdesk.services.conversations import NewMessage
from helpdesk.uow import UnitOfWork

KEY_PREFIX = "follow-up-"
SUBJECT_CHARS = 120


@dataclass(frozen=True)
class FollowUp:
    conversation_id: int
    created: bool  # False: a retry, answered with the conversation opened before


def open_follow_up(uow: UnitOfWork, actor: Actor, chat_id: int, *, email: str,
                   description: str, subject: str = "") -> FollowUp:
    """Open the email conversation following up conversation ``chat_id`` (see the module
    docstring), in the chat's queue; all of it or nothing. ``actor`` (staff) signs the
    note."""
    address = customers.normalize_identity(IdentityKind.EMAIL, email)
    key = KEY_PREFIX + hashlib.sha256(description.strip().encode()).hexdigest()[:40]
    with uow.one_transaction():
        chat = get_or_404(uow.session, Conversation, chat_id, lock=True)
        earlier = _opened_before(uow.session, chat_id, key)
        if earlier is not None:
            return FollowUp(earlier, created=False)
        if chat.is_closed:
            raise Conflict(f"conversation {chat_id} is closed: nothing can be linked to it")
        opened = _open_email_conversation(uow, actor, chat, address, description,
                                          subject.strip() or _subject(description))
        conversations.post_message(uow, chat_id, NewMessage(
            body=f"Follow-up by email opened for {address}: #{opened.id}.", author=actor,
            internal=True, client_id=key, meta={"follow_up_id": opened.id}))
    return FollowUp(opened.id, created=True)


def _open_email_conversation(uow: UnitOfWork, actor: Actor, chat: Conversation, address: str,
                             description: str, subject: str) -> Conversation:
    """The address's customer (created when unknown) writes ``description`` by email."""
    customer = customers.identify(uow, actor, IdentityKind.EMAIL, address)
    first = NewMessage(body=description, author=Actor("customer", customer.id),
                       meta={"follow_up_of": chat.id})
    return conversations.open_conversation(
        uow, actor, customer_id=customer.id, channel=Channel.EMAIL, subject=subject,
        queue_id=chat.queue_id, first_message=first)


def _opened_before(session: Session, chat_id: int, key: str) -> int | None:
    meta = session.scalar(select(Message.meta).where(Message.conversation_id == chat_id,
                                                     Message.client_id == key))
    return None if meta is None else meta["follow_up_id"]


def _subject(description: str) -> str:
    """The description's first line, cut to ``SUBJECT_CHARS``."""
    line = description.strip().splitlines()[0].strip()
    return line if len(line) <= SUBJECT_CHARS else line[:SUBJECT_CHARS - 1].rstrip() + "…"
