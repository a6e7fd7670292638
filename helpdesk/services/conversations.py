"""Conversations: open, post messages (gap-free ``seq``, idempotent), assign, status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from helpdesk import events
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    AuthorKind,
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    Message,
    Owner,
    Priority,
    Queue,
    User,
)
from helpdesk.orm import utcnow
from helpdesk.sanitize import sanitize_html
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork

MAX_BODY = 100_000
EXCERPT = 160


@dataclass(frozen=True)
class NewMessage:
    body: str
    author: Actor
    html: str | None = None
    internal: bool = False
    channel: Channel | None = None
    client_id: str | None = None


def open_conversation(uow: UnitOfWork, actor: Actor, *, customer_id: int, channel: Channel,
                      subject: str = "", queue_id: int | None = None,
                      priority: Priority = Priority.NORMAL, owner: Owner = Owner.QUEUE,
                      first_message: NewMessage | None = None) -> Conversation:
    """Open a conversation for a customer, optionally with its first message."""
    customer = get_or_404(uow.session, Customer, customer_id)
    if queue_id is not None:
        get_or_404(uow.session, Queue, queue_id)
    conversation = Conversation(customer_id=customer.id, channel=channel,
                                subject=subject.strip()[:300], queue_id=queue_id,
                                priority=priority, owner=owner)
    uow.session.add(conversation)
    uow.session.flush()
    uow.record(events.ConversationOpened(
        actor=actor, customer_id=customer.id, conversation_id=conversation.id,
        channel=channel.value, subject=conversation.subject))
    if first_message is not None:
        _append_message(uow, conversation, first_message)
    uow.commit()
    return conversation


def post_message(uow: UnitOfWork, conversation_id: int, message: NewMessage) -> Message:
    """Append a message with the next ``seq``; a repeated ``client_id`` returns the first one."""
    existing = _by_client_id(uow, conversation_id, message.client_id)
    if existing is not None:
        return existing
    conversation = get_or_404(uow.session, Conversation, conversation_id)
    if conversation.is_closed:
        raise Conflict(f"conversation {conversation_id} is closed; open a follow-up instead")
    try:
        stored = _append_message(uow, conversation, message)
        uow.commit()
    except IntegrityError:
        # A concurrent retry with the same client_id won the race: return its message.
        uow.session.rollback()
        stored = _by_client_id(uow, conversation_id, message.client_id)
        if stored is None:
            raise
    return stored


def assign(uow: UnitOfWork, actor: Actor, conversation_id: int, *,
           assignee_id: int | None, queue_id: int | None = None) -> Conversation:
    """Give the conversation to an agent (or back to its queue when ``assignee_id`` is None)."""
    conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
    if queue_id is not None:
        get_or_404(uow.session, Queue, queue_id)
        conversation.queue_id = queue_id
    if assignee_id is not None:
        _check_assignable(get_or_404(uow.session, User, assignee_id))
    previous = conversation.assignee_id
    conversation.assignee_id = assignee_id
    conversation.owner = Owner.AGENT if assignee_id else Owner.QUEUE
    if conversation.status == ConversationStatus.NEW and assignee_id:
        conversation.move_to(ConversationStatus.OPEN, utcnow())
    uow.record(events.ConversationAssigned(
        actor=actor, **_about(conversation), assignee_id=assignee_id,
        queue_id=conversation.queue_id, previous_assignee_id=previous))
    uow.commit()
    return conversation


def change_status(uow: UnitOfWork, actor: Actor, conversation_id: int,
                  status: ConversationStatus) -> Conversation:
    """Move the conversation through its lifecycle (see ``ALLOWED_TRANSITIONS``)."""
    conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
    old = conversation.status
    conversation.move_to(status, utcnow())
    _record_change(uow, actor, conversation, events.StatusChanged, old, status)
    uow.commit()
    return conversation


def set_priority(uow: UnitOfWork, actor: Actor, conversation_id: int,
                 priority: Priority) -> Conversation:
    conversation = get_or_404(uow.session, Conversation, conversation_id)
    old = conversation.priority
    conversation.priority = priority
    _record_change(uow, actor, conversation, events.PriorityChanged, old, priority)
    uow.commit()
    return conversation


def set_tags(uow: UnitOfWork, actor: Actor, conversation_id: int,
             tags: list[str]) -> Conversation:
    """Replace the conversation's tags (lower-cased, deduplicated)."""
    conversation = get_or_404(uow.session, Conversation, conversation_id)
    if any(len(t.strip()) > 64 for t in tags):
        raise ValidationFailed("a tag is at most 64 characters", field="tags")
    before = set(conversation.tags)
    conversation.set_tags(tags)
    after = set(conversation.tags)
    if before != after:
        uow.record(events.TagsChanged(
            actor=actor, **_about(conversation), added=sorted(after - before),
            removed=sorted(before - after)))
    uow.commit()
    return conversation


def _about(conversation: Conversation) -> dict[str, Any]:
    """The fields every conversation event carries."""
    return {"customer_id": conversation.customer_id, "conversation_id": conversation.id,
            "channel": conversation.channel.value}


def _record_change(uow: UnitOfWork, actor: Actor, conversation: Conversation,
                   event_type: type[events.StatusChanged], old: StrEnum, new: StrEnum) -> None:
    if old != new:
        uow.record(event_type(actor=actor, **_about(conversation), old=old.value, new=new.value))


def _by_client_id(uow: UnitOfWork, conversation_id: int, client_id: str | None) -> Message | None:
    if client_id is None:
        return None
    return uow.session.scalar(select(Message).where(Message.conversation_id == conversation_id,
                                                    Message.client_id == client_id))


def _append_message(uow: UnitOfWork, conversation: Conversation, new: NewMessage) -> Message:
    body = _checked_body(new)
    seq = _next_seq(uow, conversation.id)
    author_kind = AuthorKind(new.author.kind)
    message = Message(conversation_id=conversation.id, seq=seq, author_kind=author_kind,
                      author_id=new.author.id, body=body,
                      body_html=sanitize_html(new.html) if new.html else None,
                      internal=new.internal, channel=new.channel or conversation.channel,
                      client_id=new.client_id)
    uow.session.add(message)
    uow.session.flush()
    _apply_message_effects(conversation, message)
    uow.record(events.MessagePosted(
        actor=new.author, customer_id=conversation.customer_id, conversation_id=conversation.id,
        channel=message.channel.value, message_id=message.id, seq=seq,
        author_kind=author_kind.value, internal=message.internal, excerpt=body[:EXCERPT]))
    return message


def _checked_body(new: NewMessage) -> str:
    body = new.body.strip()
    if not body:
        raise ValidationFailed("message body must not be empty", field="body")
    if len(body) > MAX_BODY:
        raise ValidationFailed(f"message body is over {MAX_BODY} characters", field="body")
    if new.internal and new.author.kind != AuthorKind.AGENT:
        raise ValidationFailed("only agents write internal notes", field="internal")
    return body


def _next_seq(uow: UnitOfWork, conversation_id: int) -> int:
    """Atomically take the next sequence number (the row update serialises writers)."""
    return uow.session.execute(
        update(Conversation).where(Conversation.id == conversation_id)
        .values(last_seq=Conversation.last_seq + 1).returning(Conversation.last_seq)
        .execution_options(synchronize_session=False)).scalar_one()


def _apply_message_effects(conversation: Conversation, message: Message) -> None:
    """Stamp times; a customer writing on a solved conversation reopens it."""
    conversation.last_seq = message.seq
    if message.internal:
        return
    conversation.last_message_at = message.created_at
    if message.author_kind == AuthorKind.AGENT and conversation.first_response_at is None:
        conversation.first_response_at = message.created_at
    if _reopens(conversation, message.author_kind):
        conversation.move_to(ConversationStatus.OPEN, message.created_at)


def _reopens(conversation: Conversation, author: AuthorKind) -> bool:
    """A customer answering a solved/pending conversation, or an agent's first reply."""
    waiting = (ConversationStatus.SOLVED, ConversationStatus.PENDING)
    if author == AuthorKind.CUSTOMER:
        return conversation.status in waiting
    return author == AuthorKind.AGENT and conversation.status == ConversationStatus.NEW


def _check_assignable(user: User) -> None:
    if not user.active:
        raise ValidationFailed(f"user {user.id} is deactivated", field="assignee_id")
    if user.role.value == "knowledge_manager":
        raise ValidationFailed(f"user {user.id} does not work conversations",
                               field="assignee_id")
