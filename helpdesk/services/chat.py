"""Live chat, the customer's side: who the visitor is, their conversation, what they send.

Entry points (the ``/chat`` namespace, the attachment upload) pass a ``Visitor``; every
function checks the conversation belongs to the visitor's customer before touching it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.models import (
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    IdentityKind,
    Message,
    Owner,
    Presence,
    QueueMembership,
    Role,
    Site,
    User,
)
from helpdesk.services import conversations, customers
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork

VISITOR_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
MAX_CHAT_MESSAGE = 5000
FILES_ONLY = "📎"  # the body of a message that only sends files


@dataclass(frozen=True)
class Visitor:
    """The person behind one chat connection: anonymous (a token) or a verified user."""

    site_id: int
    token: str
    user_id: str | None = None  # verified with the site's secret
    locale: str | None = None  # the widget's language: the assistant answers in it

    @property
    def identity(self) -> tuple[IdentityKind, str]:
        if self.user_id is not None:
            return IdentityKind.EXTERNAL, f"site-{self.site_id}:{self.user_id}"
        # Only a digest is stored: the token is the visitor's credential.
        return IdentityKind.VISITOR, hashlib.sha256(self.token.encode()).hexdigest()


def new_visitor_token() -> str:
    return secrets.token_urlsafe(24)


def valid_visitor_token(token: object) -> bool:
    return isinstance(token, str) and bool(VISITOR_TOKEN.match(token))


def known_customer(session: Session, visitor: Visitor) -> Customer | None:
    """The visitor's customer record, following merges; None before their first chat."""
    customer = customers.find_by_identity(session, *visitor.identity)
    while customer is not None and customer.merged_into_id is not None:
        customer = session.get(Customer, customer.merged_into_id)
    return customer


def current_conversation(session: Session, site: Site, customer: Customer | None,
                         ) -> Conversation | None:
    """The customer's latest chat on this site that is not closed."""
    if customer is None:
        return None
    return session.scalar(
        select(Conversation).where(Conversation.customer_id == customer.id,
                                   Conversation.site_id == site.id,
                                   Conversation.channel == Channel.CHAT,
                                   Conversation.status != ConversationStatus.CLOSED)
        .order_by(Conversation.id.desc()).limit(1))


def start_chat(uow: UnitOfWork, site: Site, visitor: Visitor, *, name: str = "",
               email: str = "") -> Conversation:
    """The visitor's open chat, or a new one (the assistant answers first when enabled)."""
    kind, value = visitor.identity
    customer = known_customer(uow.session, visitor) or customers.identify(
        uow, SYSTEM, kind, value, name=name.strip()[:200], verified=visitor.user_id is not None)
    if email.strip():
        _claim_email(uow, customer, email)
    if visitor.locale and not customer.language:
        customer.language = visitor.locale
        uow.commit()
    existing = current_conversation(uow.session, site, customer)
    if existing is not None:
        return existing
    owner = Owner.BOT if site.bot_enabled else Owner.QUEUE
    return conversations.open_conversation(
        uow, Actor("customer", customer.id), customer_id=customer.id, channel=Channel.CHAT,
        queue_id=site.queue_id, owner=owner, site_id=site.id)


def own_conversation(session: Session, visitor: Visitor, conversation_id: object,
                     ) -> Conversation:
    """The conversation, if it is this visitor's; any other id reads as unknown."""
    customer = known_customer(session, visitor)
    conversation = (session.get(Conversation, conversation_id)
                    if isinstance(conversation_id, int) else None)
    if (conversation is None or customer is None or conversation.customer_id != customer.id
            or conversation.site_id != visitor.site_id):
        raise NotFound(f"conversation {conversation_id!r} is not one of yours",
                       field="conversation_id")
    return conversation


def visible_messages(session: Session, conversation_id: int, after_seq: int) -> list[Message]:
    """What the customer may see after ``after_seq``, in order (no internal notes)."""
    return list(session.scalars(
        select(Message).where(Message.conversation_id == conversation_id,
                              Message.seq > after_seq, Message.internal.is_(False))
        .order_by(Message.seq)))


def send(uow: UnitOfWork, visitor: Visitor, conversation_id: object, *, client_id: str,
         body: str, choice: dict[str, Any] | None = None,
         attachment_ids: list[int] | None = None) -> Message:
    """Store the customer's message (a retry with the same ``client_id`` stores nothing)."""
    conversation = own_conversation(uow.session, visitor, conversation_id)
    if len(body) > MAX_CHAT_MESSAGE:
        raise ValidationFailed(f"a chat message has at most {MAX_CHAT_MESSAGE} characters",
                               field="body")
    if attachment_ids and not body.strip():
        body = FILES_ONLY
    new = conversations.NewMessage(
        body=body, author=Actor("customer", conversation.customer_id), client_id=client_id,
        meta={"choice": choice} if choice else None, attachment_ids=attachment_ids)
    return conversations.post_message(uow, conversation.id, new,
                                      reopen_to_bot=_bot_enabled(uow.session, conversation))


def mark_read(uow: UnitOfWork, actor: Actor, conversation: Conversation, seq: int) -> None:
    """Move the reader's read mark forward to ``seq`` (never back, never past the end)."""
    reader = "customer" if actor.kind == "customer" else "agent"
    column = f"{reader}_read_seq"
    seq = min(seq, conversation.last_seq)
    if seq <= getattr(conversation, column):
        return
    setattr(conversation, column, seq)
    uow.record(events.ReadUpTo(actor=actor, conversation_id=conversation.id,
                               customer_id=conversation.customer_id, reader=reader, seq=seq))
    uow.commit()


def leave_contact(uow: UnitOfWork, visitor: Visitor, conversation_id: object, *, email: str,
                  name: str = "") -> None:
    """Offline mode: where the reply should go by email."""
    conversation = own_conversation(uow.session, visitor, conversation_id)
    customer = get_or_404(uow.session, Customer, conversation.customer_id)
    if name.strip() and not customer.name:
        customer.name = name.strip()[:200]
    _claim_email(uow, customer, email)
    conversation.handoff = {**conversation.handoff, "reply_by_email": email.strip().lower()}
    uow.commit()


def agents_available(session: Session, site: Site) -> bool:
    """Whether an active agent is online in the site's queue (any queue if it has none)."""
    return agents_online(session, site.queue_id)


def agents_online(session: Session, queue_id: int | None) -> bool:
    """Whether an active agent is online in the queue (``None``: in any queue)."""
    query = (select(User.id).where(User.active.is_(True), User.presence == Presence.ONLINE,
                                   User.role.in_((Role.AGENT, Role.SUPERVISOR, Role.ADMIN)))
             .limit(1))
    if queue_id is not None:
        query = query.join(QueueMembership, QueueMembership.user_id == User.id).where(
            QueueMembership.queue_id == queue_id)
    return session.scalar(query) is not None


def _claim_email(uow: UnitOfWork, customer: Customer, email: str) -> None:
    """Add the email to the customer unless another customer owns it.

    An unverified visitor typing someone's address must not reach that person's history:
    the address is then only noted on this customer.
    """
    value = customers.normalize_identity(IdentityKind.EMAIL, email)
    owner = customers.find_by_identity(uow.session, IdentityKind.EMAIL, value)
    if owner is None:
        customers.add_identity(uow, SYSTEM, customer.id, IdentityKind.EMAIL, value)
    elif owner.id != customer.id:
        customer.claimed_email = value
        uow.commit()


def _bot_enabled(session: Session, conversation: Conversation) -> bool:
    site = session.get(Site, conversation.site_id) if conversation.site_id else None
    return site is not None and site.bot_enabled
