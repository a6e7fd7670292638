"""What the chat clients receive: messages and conversation states as plain dicts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from helpdesk.chat_files import attachment_url
from helpdesk.models import AuthorKind, Conversation, Customer, Message, Site, User
from helpdesk.orm import utcnow
from helpdesk.services import csat

BOT_NAME = "Assistant"


def message_payload(session: Session, message: Message) -> dict[str, Any]:
    """A message as ``message`` events and acks carry it (docs/chat-protocol.md)."""
    meta = message.meta or {}
    return {"conversation_id": message.conversation_id, "seq": message.seq, "id": message.id,
            "author": {"kind": message.author_kind.value, "name": _author_name(session, message)},
            "body": message.body, "created_at": message.created_at.isoformat(),
            "client_id": message.client_id,
            "attachments": [{"id": a.id, "filename": a.filename, "url": attachment_url(a.id)}
                            for a in message.attachments],
            "citations": meta.get("citations", []), "options": meta.get("options", []),
            "feedback": bool(meta.get("feedback")), "image": meta.get("image")}


def conversation_payload(session: Session, conversation_id: int) -> dict[str, Any]:
    """A conversation's state as the customer sees it."""
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    agent = session.get(User, conversation.assignee_id) if conversation.assignee_id else None
    return {"id": conversation.id, "status": conversation.status.value,
            "owner": conversation.owner.value, "last_seq": conversation.last_seq,
            "agent": {"name": _first_name(agent.name)} if agent else None,
            "agent_read_seq": conversation.agent_read_seq,
            "csat": conversation.status.value == "solved" and conversation.csat_rating is None,
            "csat_change": conversation.csat_rating is not None
            and csat.may_rate(conversation, utcnow())}


def _author_name(session: Session, message: Message) -> str:
    if message.author_kind == AuthorKind.AGENT and message.author_id:
        user = session.get(User, message.author_id)
        return _first_name(user.name) if user else ""
    if message.author_kind == AuthorKind.BOT:
        return _bot_name(session, message.conversation_id)
    if message.author_kind == AuthorKind.CUSTOMER and message.author_id:
        customer = session.get(Customer, message.author_id)
        return customer.name if customer else ""
    return ""


def _bot_name(session: Session, conversation_id: int) -> str:
    conversation = session.get(Conversation, conversation_id)
    site = session.get(Site, conversation.site_id) if conversation and conversation.site_id \
        else None
    return f"{site.name} · {BOT_NAME}" if site else BOT_NAME


def _first_name(name: str) -> str:
    """Customers see an agent's first name only."""
    return name.split()[0] if name.strip() else ""
