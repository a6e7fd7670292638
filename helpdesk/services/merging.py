"""Merge one conversation into another; split messages off into a new or another one.

Moved messages are appended to the target after its last message, in their order: they
get its next ``seq`` numbers and keep their creation time, and ``meta["moved_from"]``
says where they came from (``conversation_id``, ``seq``). The target's messages keep
their numbers, so a client catching up "after seq N" misses nothing; the source keeps a
gap where they were (its numbers are never reused).

Email threading follows the messages: their Message-IDs point to the target, so a reply
to one lands there, and customers whose messages moved in (and the source's copied
people, on a merge) take part in the target, so their replies are accepted there. A
merged conversation is closed and points to the target (``merged_into_id``); mail naming
it by its token threads to the target too (helpdesk.mail.threading).
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    Attachment,
    AuthorKind,
    Conversation,
    ConversationParticipant,
    ConversationStatus,
    EmailMessageRef,
    Identity,
    IdentityKind,
    Message,
)
from helpdesk.services import conversations
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork


def merge(uow: UnitOfWork, actor: Actor, target_id: int, source_id: int, *,
          confirm_other_customer: bool = False, may_confirm: bool = False) -> Conversation:
    """Merge conversation ``source_id`` into ``target_id``: every message moves, replies to
    its mail thread to the target, its tags are added, and it is closed pointing there.

    Conversations of two different customers merge only when ``confirm_other_customer``,
    by someone who ``may_confirm`` (supervisors and admins).
    """
    if source_id == target_id:
        raise ValidationFailed("a conversation cannot be merged into itself", field="source_id")
    with uow.one_transaction():
        pair = _locked(uow, {target_id: "conversation_id", source_id: "source_id"})
        target, source = pair[target_id], pair[source_id]
        _check_customers(target, source, confirm_other_customer, may_confirm)
        moved = _move_messages(uow.session, source, target, _messages_of(uow.session, source))
        uow.session.execute(update(EmailMessageRef).where(
            EmailMessageRef.conversation_id == source.id).values(conversation_id=target.id))
        _add_participants(uow.session, target,
                          _participants(uow.session, source) | _addresses_of(
                              uow.session, {source.customer_id, *_authors(moved)}, target))
        source.merged_into_id = target.id
        ids = [m.id for m in moved]
        uow.record(events.ConversationsMerged(actor=actor, **target.event_fields(),
                                              source_id=source.id, message_ids=ids))
        uow.record(events.MergedInto(actor=actor, **source.event_fields(), target_id=target.id))
        _finish_merge(uow, actor, target, source)
    return target


def split(uow: UnitOfWork, actor: Actor, conversation_id: int, *, seq: int,
          following: bool = False, target_id: int | None = None, subject: str | None = None,
          confirm_other_customer: bool = False, may_confirm: bool = False) -> Conversation:
    """Move message ``seq`` (with ``following``: and every later one) to conversation
    ``target_id``, or to a new conversation of the same customer, queue and priority
    (``subject``: default the source's). Returns the conversation they went to.

    Into another customer's conversation as ``merge`` allows it.
    """
    if target_id == conversation_id:
        raise ValidationFailed("the messages are in this conversation already",
                               field="target_id")
    with uow.one_transaction():
        wanted = {conversation_id: "conversation_id"} | ({target_id: "target_id"}
                                                         if target_id else {})
        locked = _locked(uow, wanted)
        source = locked[conversation_id]
        messages = _messages_to_split(uow.session, source, seq, following)
        if target_id is None:
            target = _new_conversation(uow, actor, source, subject)
        else:
            target = locked[target_id]
            _check_customers(target, source, confirm_other_customer, may_confirm)
        _split_into(uow, actor, source, target, messages, created=target_id is None)
    return target


def _split_into(uow: UnitOfWork, actor: Actor, source: Conversation, target: Conversation,
                messages: list[Message], *, created: bool) -> None:
    moved = _move_messages(uow.session, source, target, messages)
    ids = [m.id for m in moved]
    uow.session.execute(update(EmailMessageRef).where(EmailMessageRef.message_id.in_(ids))
                        .values(conversation_id=target.id))
    _add_participants(uow.session, target, _addresses_of(uow.session, _authors(moved), target))
    uow.record(events.MessagesSplitOff(actor=actor, **source.event_fields(), target_id=target.id,
                                       message_ids=ids, created=created))
    uow.record(events.MessagesMovedIn(actor=actor, **target.event_fields(), source_id=source.id,
                                      message_ids=ids))


def _locked(uow: UnitOfWork, fields: dict[int, str]) -> dict[int, Conversation]:
    """The conversations, locked in id order (two opposite moves cannot deadlock), each
    open to moves; ``fields`` names the input that carried each id."""
    locked = {i: get_or_404(uow.session, Conversation, i, lock=True, field=fields[i])
              for i in sorted(fields)}
    for ident, conversation in locked.items():
        _check_movable(conversation, fields[ident])
    return locked


def _check_movable(conversation: Conversation, field: str) -> None:
    if conversation.merged_into_id is not None:
        raise Conflict(f"conversation {conversation.id} was merged into conversation "
                       f"{conversation.merged_into_id}", field=field)
    if conversation.is_closed:
        raise Conflict(f"conversation {conversation.id} is closed: nothing moves in or out "
                       "of a closed conversation", field=field)


def _check_customers(target: Conversation, source: Conversation, confirm: bool,
                     may_confirm: bool) -> None:
    if target.customer_id == source.customer_id:
        return
    if not confirm:
        raise Conflict(f"conversation {source.id} is customer {source.customer_id}'s and "
                       f"conversation {target.id} customer {target.customer_id}'s: a "
                       "supervisor must confirm moving between customers",
                       field="confirm_other_customer")
    if not may_confirm:
        raise PermissionDenied("only supervisors and admins (customers:merge) confirm moving "
                               "between customers", field="confirm_other_customer")


def _messages_of(session: Session, conversation: Conversation, *,
                 from_seq: int = 0) -> list[Message]:
    return list(session.scalars(select(Message).where(
        Message.conversation_id == conversation.id, Message.seq >= from_seq)
        .order_by(Message.seq)))


def _messages_to_split(session: Session, source: Conversation, seq: int,
                       following: bool) -> list[Message]:
    later = _messages_of(session, source, from_seq=seq)
    if not later or later[0].seq != seq:
        raise NotFound(f"conversation {source.id} has no message {seq}", field="seq")
    moving = later if following else later[:1]
    if len(moving) == _count(session, source):
        raise ValidationFailed(f"that is every message of conversation {source.id}: merge "
                               "it instead", field="seq")
    return moving


def _count(session: Session, conversation: Conversation) -> int:
    return session.scalar(select(func.count()).where(
        Message.conversation_id == conversation.id)) or 0


def _new_conversation(uow: UnitOfWork, actor: Actor, source: Conversation,
                      subject: str | None) -> Conversation:
    return conversations.open_conversation(
        uow, actor, customer_id=source.customer_id, channel=source.channel,
        subject=subject if subject and subject.strip() else source.subject,
        queue_id=source.queue_id, priority=source.priority)


def _move_messages(session: Session, source: Conversation, target: Conversation,
                   messages: list[Message]) -> list[Message]:
    """Append ``messages`` to ``target`` (locked: its ``last_seq`` is current) with their
    files; a client id the target already holds is dropped (a retry would go to the
    source anyway)."""
    taken = set(session.scalars(select(Message.client_id).where(
        Message.conversation_id == target.id, Message.client_id.is_not(None))))
    for offset, message in enumerate(messages, start=1):
        message.meta = {**message.meta,
                        "moved_from": {"conversation_id": source.id, "seq": message.seq}}
        message.conversation_id, message.seq = target.id, target.last_seq + offset
        if message.client_id in taken:
            message.client_id = None
    target.last_seq += len(messages)
    session.execute(update(Attachment).where(Attachment.message_id.in_(
        [m.id for m in messages])).values(conversation_id=target.id))
    session.flush()
    for conversation in (source, target):
        _refresh_times(session, conversation)
    return messages


def _refresh_times(session: Session, conversation: Conversation) -> None:
    """The last message's and the first agent reply's times, from the messages there now."""
    public = (Message.conversation_id == conversation.id, Message.internal.is_(False))
    conversation.last_message_at = session.scalar(
        select(func.max(Message.created_at)).where(*public))
    conversation.first_response_at = session.scalar(
        select(func.min(Message.created_at)).where(
            *public, Message.author_kind == AuthorKind.AGENT))


def _authors(messages: list[Message]) -> set[int]:
    return {m.author_id for m in messages
            if m.author_kind == AuthorKind.CUSTOMER and m.author_id is not None}


def _addresses_of(session: Session, customer_ids: set[int],
                  target: Conversation) -> set[str]:
    """The email addresses of these customers, but the target's own customer's."""
    return set(session.scalars(select(Identity.value).where(
        Identity.kind == IdentityKind.EMAIL,
        Identity.customer_id.in_(customer_ids - {target.customer_id}))))


def _participants(session: Session, conversation: Conversation) -> set[str]:
    return set(session.scalars(select(ConversationParticipant.email).where(
        ConversationParticipant.conversation_id == conversation.id)))


def _add_participants(session: Session, target: Conversation, addresses: set[str]) -> None:
    """These people may write in ``target`` by email from now on."""
    for address in sorted(addresses - _participants(session, target)):
        session.add(ConversationParticipant(conversation_id=target.id, email=address))


def _finish_merge(uow: UnitOfWork, actor: Actor, target: Conversation,
                  source: Conversation) -> None:
    """The source's tags join the target's; the source is closed."""
    uow.session.flush()
    if set(source.tags) - set(target.tags):
        conversations.update_conversation(uow, actor, target.id,
                                          tags=[*target.tags, *source.tags])
    conversations.change_status(uow, actor, source.id, ConversationStatus.CLOSED)

