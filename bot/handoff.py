"""Handing a conversation from the assistant to people, with what they need to know.

The packet is built before routing: what the customer wants (their own words), the
articles the assistant tried, who they are (verified or not) and their recent history.
When nobody can take the chat, the customer is told so and offered to leave an email.
An outside dialogue engine (Rasa) asks for the same handoff through ``request_handoff``,
naming the queue it wants. The customer's message that led to it is stored for the
knowledge managers' content gaps, whichever way the handoff came.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.errors import ValidationFailed
from helpdesk.models import (
    AuthorKind,
    Channel,
    Conversation,
    Customer,
    Message,
    Owner,
    Queue,
    Site,
)
from helpdesk.services import chat, conversations
from helpdesk.services.common import get_or_404
from helpdesk.services.conversations import BOT_ACTOR, NewMessage
from helpdesk.uow import UnitOfWork
from knowledge_base.gaps.service import remember_question

SUMMARY_MESSAGES = 3
SUMMARY_CHARS = 400
HISTORY = 5
TEXTS = {
    "en": {"connecting": "I'm passing you to a member of our team. They will see our "
                         "conversation, so you won't have to repeat yourself.",
           "offline": "Nobody from our team is available right now. Leave your email "
                      "address and we will answer by email, usually within one business "
                      "day."},
    "fr": {"connecting": "Je vous mets en relation avec un membre de notre équipe. Il verra "
                         "notre échange : vous n'aurez pas à vous répéter.",
           "offline": "Personne de notre équipe n'est disponible pour le moment. Laissez "
                      "votre adresse e-mail : nous vous répondrons par e-mail, en général "
                      "sous un jour ouvré."},
}


def hand_off(uow: UnitOfWork, conversation_id: int, reason: str, *,
             queue_id: int | None = None) -> Conversation:
    """Route the chat to ``queue_id`` (default: its site's queue) with a handoff packet
    and tell the customer. Idempotent: a conversation people already own is left as it is."""
    conversation = uow.session.get(Conversation, conversation_id)
    if conversation is None or conversation.owner != Owner.BOT:
        return conversation
    site = uow.session.get(Site, conversation.site_id) if conversation.site_id else None
    queue_id = queue_id or (site.queue_id if site else None)
    available = site is not None and chat.agents_online(uow.session, queue_id)
    packet = handoff_packet(uow.session, conversation, reason, available=available)
    conversations.hand_over(uow, BOT_ACTOR, conversation_id, owner=Owner.QUEUE,
                            reason=reason, queue_id=queue_id, packet=packet)
    _remember_question(uow.session, conversation, reason)
    text = TEXTS[_language(uow.session, conversation)]["connecting" if available else "offline"]
    meta = {} if available else {"options": [{"kind": "leave_contact", "label": ""}]}
    conversations.post_message(uow, conversation_id, NewMessage(
        body=text, author=BOT_ACTOR, client_id=f"handoff-{conversation_id}-{conversation.last_seq}",
        meta=meta))
    return conversation


def request_handoff(uow: UnitOfWork, conversation_id: int, reason: str,
                    queue_name: str | None = None) -> Conversation:
    """``hand_off`` asked for from outside (an external dialogue engine), to the queue
    named ``queue_name`` if given. Only a chat the assistant owns moves; any other
    conversation is returned unchanged, so a retry is harmless."""
    conversation = get_or_404(uow.session, Conversation, conversation_id)
    queue_id = _queue_named(uow.session, queue_name) if queue_name else None
    if conversation.channel != Channel.CHAT:
        return conversation
    return hand_off(uow, conversation_id, reason, queue_id=queue_id)


def _queue_named(session: Session, name: str) -> int:
    queue_id = session.scalar(select(Queue.id).where(Queue.name == name.strip()))
    if queue_id is None:
        raise ValidationFailed(f"no queue is named {name!r}", field="queue")
    return queue_id


def handoff_packet(session: Session, conversation: Conversation, reason: str, *,
                   available: bool) -> dict[str, Any]:
    """What the agent sees first."""
    customer = session.get(Customer, conversation.customer_id)
    return {"reason": reason, "agents_available": available,
            "summary": _summary(session, conversation.id),
            "articles_tried": _articles_tried(session, conversation.id),
            "customer": _identity(customer), "history": _history(session, conversation)}


def _summary(session: Session, conversation_id: int) -> str:
    """The customer's last messages, oldest first: their own words are the best summary."""
    bodies = list(session.scalars(
        select(Message.body).where(Message.conversation_id == conversation_id,
                                   Message.author_kind == AuthorKind.CUSTOMER)
        .order_by(Message.seq.desc()).limit(SUMMARY_MESSAGES)))
    text = " / ".join(reversed(bodies))
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS - 1] + "…"


def _articles_tried(session: Session, conversation_id: int) -> list[dict[str, Any]]:
    metas = session.scalars(select(Message.meta).where(
        Message.conversation_id == conversation_id, Message.author_kind == AuthorKind.BOT))
    tried = {c["article_id"]: c for meta in metas for c in (meta or {}).get("citations", [])}
    return list(tried.values())


def _identity(customer: Customer | None) -> dict[str, Any]:
    if customer is None:
        return {}
    identities = [{"kind": i.kind.value, "value": i.value, "verified": i.verified}
                  for i in customer.identities if i.kind.value in ("email", "phone", "external")]
    return {"id": customer.id, "name": customer.name,
            "verified": any(i["verified"] for i in identities), "identities": identities}


def _history(session: Session, conversation: Conversation) -> list[dict[str, Any]]:
    others = session.scalars(
        select(Conversation).where(Conversation.customer_id == conversation.customer_id,
                                   Conversation.id != conversation.id)
        .order_by(Conversation.id.desc()).limit(HISTORY))
    return [{"id": c.id, "subject": c.subject, "channel": c.channel.value,
             "status": c.status.value, "created_at": c.created_at.isoformat()} for c in others]


def _remember_question(session: Session, conversation: Conversation, reason: str) -> None:
    """The customer's last message led to the handoff: a question for the content gaps."""
    last = session.scalar(select(Message).where(
        Message.conversation_id == conversation.id, Message.author_kind == AuthorKind.CUSTOMER)
        .order_by(Message.seq.desc()).limit(1))
    if last is not None:
        remember_question(session, last, reason, conversation_language(session, conversation))


def conversation_language(session: Session, conversation: Conversation) -> str:
    """The customer's language, else their site's, else English."""
    customer = session.get(Customer, conversation.customer_id)
    site = session.get(Site, conversation.site_id) if conversation.site_id else None
    return (customer.language if customer else None) or (site.language if site else "en")


def _language(session: Session, conversation: Conversation) -> str:
    language = conversation_language(session, conversation)
    return language if language in TEXTS else "en"
