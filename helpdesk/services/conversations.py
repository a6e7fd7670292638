"""Conversations: open, post messages (gap-free ``seq``, idempotent), assign, status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    AuthorKind,
    Channel,
    Conversation,
    ConversationParticipant,
    ConversationStatus,
    Customer,
    Identity,
    IdentityKind,
    Message,
    Owner,
    Priority,
    Queue,
    Role,
    User,
)
from helpdesk.orm import utcnow
from helpdesk.sanitize import sanitize_html
from helpdesk.services import attachments, mentions
from helpdesk.services.common import get_or_404
from helpdesk.services.custom_fields import check_required_on_solve, set_values
from helpdesk.uow import UnitOfWork

MAX_BODY = 100_000
EXCERPT = 160
BOT_ACTOR = Actor("bot")


@dataclass(frozen=True)
class NewMessage:
    body: str
    author: Actor
    html: str | None = None
    internal: bool = False
    channel: Channel | None = None
    client_id: str | None = None
    meta: dict[str, Any] | None = None  # chat extras: citations, options, feedback asked
    attachment_ids: list[int] | None = None  # uploaded files of this conversation


def open_conversation(uow: UnitOfWork, actor: Actor, *, customer_id: int, channel: Channel,
                      subject: str = "", queue_id: int | None = None,
                      priority: Priority = Priority.NORMAL, owner: Owner = Owner.QUEUE,
                      first_message: NewMessage | None = None,
                      site_id: int | None = None) -> Conversation:
    """Open a conversation for a customer, optionally with its first message."""
    customer = get_or_404(uow.session, Customer, customer_id)
    if customer.merged_into_id is not None:
        raise Conflict(f"customer {customer_id} was merged into customer "
                       f"{customer.merged_into_id}", field="customer_id")
    if queue_id is not None:
        get_or_404(uow.session, Queue, queue_id)
    conversation = Conversation(customer_id=customer.id, channel=channel,
                                subject=subject.strip()[:300], queue_id=queue_id,
                                priority=priority, owner=owner, site_id=site_id)
    if owner == Owner.QUEUE:
        conversation.enter_queue(utcnow())
    uow.session.add(conversation)
    uow.session.flush()
    uow.record(events.ConversationOpened(
        actor=actor, customer_id=customer.id, conversation_id=conversation.id,
        channel=channel.value, subject=conversation.subject))
    if first_message is not None:
        _append_message(uow, conversation, first_message)
    uow.commit()
    return conversation


def post_message(uow: UnitOfWork, conversation_id: int, message: NewMessage, *,
                 reopen_to_bot: bool = False) -> Message:
    """Append a message with the next ``seq``; a repeated ``client_id`` returns the first one.

    ``reopen_to_bot``: a customer writing on a solved conversation gives it back to the
    assistant (live chat with the assistant on), in the same transaction.
    """
    # The lock serialises writers, so a concurrent retry finds the first copy here.
    conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
    existing = _by_client_id(uow, conversation, message.client_id)
    if existing is not None:
        return existing
    if conversation.is_closed:
        raise Conflict(f"conversation {conversation_id} is closed; open a follow-up instead")
    was_solved = conversation.status == ConversationStatus.SOLVED
    stored = _append_message(uow, conversation, message)
    if reopen_to_bot and was_solved and stored.author_kind == AuthorKind.CUSTOMER:
        hand_back_to_bot(uow, conversation, "customer wrote after the solve")
    uow.commit()
    return stored


def assign(uow: UnitOfWork, actor: Actor, conversation_id: int, *,
           assignee_id: int | None, queue_id: int | None = None) -> Conversation:
    """Give the conversation to an agent (or back to its queue when ``assignee_id`` is None)."""
    conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
    previous_queue = conversation.queue_id
    if queue_id is not None:
        get_or_404(uow.session, Queue, queue_id)
        conversation.queue_id = queue_id
    if assignee_id is not None:
        _check_assignable(get_or_404(uow.session, User, assignee_id, field="assignee_id"))
    previous = conversation.assignee_id
    conversation.assignee_id = assignee_id
    owner = Owner.AGENT if assignee_id else Owner.QUEUE
    if owner != conversation.owner:
        _change_owner(uow, actor, conversation, owner, "assigned")
    uow.record(events.ConversationAssigned(
        actor=actor, **conversation.event_fields(), assignee_id=assignee_id,
        queue_id=conversation.queue_id, previous_assignee_id=previous,
        previous_queue_id=previous_queue))
    if conversation.status == ConversationStatus.NEW and assignee_id:
        _move(uow, actor, conversation, ConversationStatus.OPEN)
    uow.commit()
    return conversation


# Who may take a conversation from whom. Back to the assistant only from a solved
# conversation the customer writes on again (see ``hand_back_to_bot``).
OWNER_TRANSITIONS: dict[Owner, frozenset[Owner]] = {
    Owner.BOT: frozenset({Owner.QUEUE, Owner.AGENT}),
    Owner.QUEUE: frozenset({Owner.AGENT}),
    Owner.AGENT: frozenset({Owner.QUEUE}),
}


def hand_over(uow: UnitOfWork, actor: Actor, conversation_id: int, *, owner: Owner,
              reason: str, queue_id: int | None = None,
              packet: dict[str, Any] | None = None) -> Conversation:
    """Move ownership along ``OWNER_TRANSITIONS``; handing to the current owner changes
    nothing (retries are safe). ``packet`` is what the agent sees first."""
    conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
    if conversation.owner == owner:
        return conversation
    if owner not in OWNER_TRANSITIONS[conversation.owner]:
        raise InvalidTransition(f"a conversation owned by {conversation.owner.value} cannot "
                                f"go to {owner.value}", field="owner")
    if queue_id is not None:
        conversation.queue_id = get_or_404(uow.session, Queue, queue_id).id
    if packet is not None:
        conversation.handoff = packet
    _change_owner(uow, actor, conversation, owner, reason)
    uow.commit()
    return conversation


def hand_back_to_bot(uow: UnitOfWork, conversation: Conversation, reason: str) -> None:
    """The customer wrote again on a solved conversation: the assistant answers first."""
    if conversation.owner != Owner.BOT:
        conversation.assignee_id = None
        conversation.unhelpful_answers = 0
        _change_owner(uow, BOT_ACTOR, conversation, Owner.BOT, reason)


def _change_owner(uow: UnitOfWork, actor: Actor, conversation: Conversation, owner: Owner,
                  reason: str) -> None:
    previous, conversation.owner = conversation.owner, owner
    if owner == Owner.QUEUE:
        conversation.enter_queue(utcnow())
    uow.record(events.OwnerChanged(actor=actor, **conversation.event_fields(), old=previous.value,
                                   new=owner.value, reason=reason))


def change_status(uow: UnitOfWork, actor: Actor, conversation_id: int,
                  status: ConversationStatus) -> Conversation:
    """Move the conversation through its lifecycle (see ``ALLOWED_TRANSITIONS``)."""
    conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
    _move(uow, actor, conversation, status)
    uow.commit()
    return conversation


def set_priority(uow: UnitOfWork, actor: Actor, conversation_id: int,
                 priority: Priority) -> Conversation:
    return update_conversation(uow, actor, conversation_id, priority=priority)


def set_tags(uow: UnitOfWork, actor: Actor, conversation_id: int,
             tags: list[str]) -> Conversation:
    """Replace the conversation's tags (lower-cased, deduplicated)."""
    return update_conversation(uow, actor, conversation_id, tags=tags)


def update_conversation(uow: UnitOfWork, actor: Actor, conversation_id: int, *,
                        priority: Priority | None = None,
                        tags: list[str] | None = None,
                        custom_fields: dict[str, Any] | None = None) -> Conversation:
    """Change the priority, replace the tags and/or set custom field values (``None``
    clears one; see ``services.custom_fields``), in one transaction."""
    conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
    if priority is not None:
        old = conversation.priority
        conversation.priority = priority
        _record_change(uow, actor, conversation, events.PriorityChanged, old, priority)
    if tags is not None:
        _replace_tags(uow, actor, conversation, tags)
    if custom_fields is not None:
        set_values(uow, actor, conversation, custom_fields)
    uow.commit()
    return conversation


def _replace_tags(uow: UnitOfWork, actor: Actor, conversation: Conversation,
                  tags: list[str]) -> None:
    if any(len(t.strip()) > 64 for t in tags):
        raise ValidationFailed("a tag is at most 64 characters", field="tags")
    before = set(conversation.tags)
    conversation.set_tags(tags)
    after = set(conversation.tags)
    if before != after:
        uow.record(events.TagsChanged(
            actor=actor, **conversation.event_fields(), added=sorted(after - before),
            removed=sorted(before - after)))



def _move(uow: UnitOfWork, actor: Actor, conversation: Conversation,
          status: ConversationStatus) -> None:
    """Change the status through the lifecycle and record it in the history."""
    old = conversation.status
    conversation.move_to(status, utcnow())
    if status == ConversationStatus.SOLVED and old != status:
        check_required_on_solve(uow.session, conversation)
    _record_change(uow, actor, conversation, events.StatusChanged, old, status)


def _record_change(uow: UnitOfWork, actor: Actor, conversation: Conversation,
                   event_type: type[events.FieldChanged], old: StrEnum, new: StrEnum) -> None:
    if old != new:
        uow.record(event_type(actor=actor, **conversation.event_fields(), old=old.value,
                              new=new.value))


def _by_client_id(uow: UnitOfWork, conversation: Conversation,
                  client_id: str | None) -> Message | None:
    if client_id is None or not conversation.last_seq:  # no message yet, so no copy
        return None
    return uow.session.scalar(select(Message).where(Message.conversation_id == conversation.id,
                                                    Message.client_id == client_id))


def _append_message(uow: UnitOfWork, conversation: Conversation, new: NewMessage) -> Message:
    body = _checked_body(new)
    _check_author(uow.session, conversation, new.author)
    seq = _next_seq(conversation)
    author_kind = AuthorKind(new.author.kind)
    message = Message(conversation_id=conversation.id, seq=seq, author_kind=author_kind,
                      author_id=new.author.id, body=body,
                      body_html=sanitize_html(new.html) if new.html else None,
                      internal=new.internal, channel=new.channel or conversation.channel,
                      client_id=new.client_id, meta=new.meta or {})
    uow.session.add(message)
    uow.session.flush()
    if message.internal:
        mentions.notify_mentioned(uow, conversation, message)
    if new.attachment_ids:
        attachments.claim_for_message(uow.session, conversation.id, new.attachment_ids,
                                      message.id)
    uow.record(events.MessagePosted(
        actor=new.author, customer_id=conversation.customer_id, conversation_id=conversation.id,
        channel=message.channel.value, message_id=message.id, seq=seq,
        author_kind=author_kind.value, internal=message.internal, excerpt=body[:EXCERPT]))
    _apply_message_effects(uow, conversation, message)
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


def _next_seq(conversation: Conversation) -> int:
    """The next sequence number: the caller locked the conversation's row (or created it),
    so its ``last_seq`` is current and no other writer can take the same number."""
    return (conversation.last_seq or 0) + 1


def _check_author(session: Session, conversation: Conversation, author: Actor) -> None:
    if (author.kind == AuthorKind.CUSTOMER and author.id != conversation.customer_id
            and not takes_part(session, conversation.id, author.id)):
        raise PermissionDenied(f"customer {author.id} is neither conversation "
                               f"{conversation.id}'s customer nor copied on it", field="author")


def takes_part(session: Session, conversation_id: int, customer_id: int) -> bool:
    """True when one of the customer's email addresses is a participant (copied on it)."""
    return session.scalar(
        select(ConversationParticipant.email)
        .join(Identity, Identity.value == ConversationParticipant.email)
        .where(ConversationParticipant.conversation_id == conversation_id,
               Identity.kind == IdentityKind.EMAIL, Identity.customer_id == customer_id)
        .limit(1)) is not None


def _apply_message_effects(uow: UnitOfWork, conversation: Conversation,
                           message: Message) -> None:
    """Stamp times; a customer writing on a solved conversation reopens it."""
    conversation.last_seq = message.seq
    if message.internal:
        return
    conversation.last_message_at = message.created_at
    if message.author_kind == AuthorKind.AGENT and conversation.first_response_at is None:
        conversation.first_response_at = message.created_at
    if _reopens(conversation, message.author_kind):
        author = Actor(message.author_kind.value, message.author_id)
        _move(uow, author, conversation, ConversationStatus.OPEN)


def _reopens(conversation: Conversation, author: AuthorKind) -> bool:
    """A customer answering a solved/pending conversation, or an agent's first reply."""
    waiting = (ConversationStatus.SOLVED, ConversationStatus.PENDING)
    if author == AuthorKind.CUSTOMER:
        return conversation.status in waiting
    return author == AuthorKind.AGENT and conversation.status == ConversationStatus.NEW


def _check_assignable(user: User) -> None:
    if not user.active:
        raise ValidationFailed(f"user {user.id} is deactivated", field="assignee_id")
    if user.role == Role.KNOWLEDGE_MANAGER:
        raise ValidationFailed(f"user {user.id} does not work conversations",
                               field="assignee_id")
