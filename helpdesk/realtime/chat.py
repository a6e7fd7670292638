"""The ``/chat`` namespace: customers' browsers (docs/chat-protocol.md).

Handlers only translate: they check the payload's shape, call ``helpdesk.services.chat``
and turn the result or the domain error into the ack.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, request
from flask_socketio import Namespace, SocketIO, emit, join_room
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.feedback import answer_feedback
from bot.handoff import hand_off
from helpdesk import events
from helpdesk.errors import DomainError, Unavailable, ValidationFailed
from helpdesk.events import Actor, DomainEvent
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Customer, IdentityKind, Message, Site
from helpdesk.realtime.payloads import conversation_payload, message_payload
from helpdesk.realtime.rooms import AGENT_NAMESPACE, audible, conversation_room
from helpdesk.services import chat, csat, sites
from helpdesk.services.chat import Visitor

CHAT_NAMESPACE = "/chat"
MAX_CLIENT_ID = 64
# Per connection: at most this many messages in this many seconds.
SEND_LIMIT, SEND_WINDOW = 20, 10.0
Handler = Callable[..., dict[str, Any]]


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429


def acknowledged(handler: Handler) -> Handler:
    """Run a request handler: a dict payload in, ``{"ok": ...}`` out, errors as data."""
    @wraps(handler)
    def run(self: ChatNamespace, data: Any = None) -> dict[str, Any]:
        visitor = self.visitors.get(request.sid)
        try:
            if visitor is None:
                raise DomainError("connect again: this connection has no session")
            if not isinstance(data, dict):
                raise ValidationFailed("the payload must be an object", field="payload")
            return {"ok": True, **handler(self, visitor, data)}
        except (DomainError, PoolTimeout) as exc:
            db.session.rollback()
            return {"ok": False, "error": _refusal(exc)}
    return run


def _refusal(exc: DomainError | PoolTimeout) -> dict[str, Any]:
    if isinstance(exc, PoolTimeout):
        exc = Unavailable("the server is busy: send it again (the same client_id never doubles)")
    return {"code": exc.code, "message": exc.message, "field": exc.field}


class ChatNamespace(Namespace):
    """Auth in ``connect`` (site key, visitor token or verified user); rooms per conversation."""

    def __init__(self, namespace: str = CHAT_NAMESPACE) -> None:
        super().__init__(namespace)
        self.visitors: dict[str, Visitor] = {}
        self._sent: dict[str, deque[float]] = {}

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Events are dotted (``message.send``); an unknown one is answered, not ignored."""
        name = event.replace(".", "_")
        if event not in ("connect", "disconnect") and not hasattr(self, f"on_{name}"):
            return {"ok": False, "error": {"code": "invalid", "field": "event",
                                           "message": f"unknown event {event!r}"}}
        return super().trigger_event(name, *args)

    def on_connect(self, auth: Any = None) -> None:
        site, visitor = _authenticate(auth)
        self.visitors[request.sid] = visitor
        emit("session", _session_payload(site, visitor))

    def on_disconnect(self, *_reason: Any) -> None:
        self.visitors.pop(request.sid, None)
        self._sent.pop(request.sid, None)

    @acknowledged
    def on_conversation_start(self, visitor: Visitor, data: dict[str, Any]) -> dict[str, Any]:
        with unit_of_work() as uow:  # one pooled connection: the site is read through it
            site = uow.session.get(Site, visitor.site_id)
            conversation_id = chat.start_chat(uow, site, visitor, name=_text(data, "name", 200),
                                              email=_text(data, "email", 320)).id
        join_room(conversation_room(conversation_id))
        return {"conversation": conversation_payload(db.session, conversation_id)}

    @acknowledged
    def on_conversation_join(self, visitor: Visitor, data: dict[str, Any]) -> dict[str, Any]:
        conversation = chat.own_conversation(db.session, visitor, data.get("conversation_id"))
        after = _seq(data, "after_seq")
        join_room(conversation_room(conversation.id))
        messages = chat.visible_messages(db.session, conversation.id, after)
        return {"conversation": conversation_payload(db.session, conversation.id),
                "messages": [message_payload(db.session, m) for m in messages]}

    @acknowledged
    def on_message_send(self, visitor: Visitor, data: dict[str, Any]) -> dict[str, Any]:
        self._check_rate()
        client_id = _text(data, "client_id", MAX_CLIENT_ID, required=True)
        choice = data.get("choice") if isinstance(data.get("choice"), dict) else None
        files = data.get("attachments") or None
        with unit_of_work() as uow:
            message_id = chat.send(
                uow, visitor, data.get("conversation_id"), client_id=client_id,
                body=_text(data, "body", chat.MAX_CHAT_MESSAGE, required=not files),
                choice=choice, attachment_ids=files).id
        return {"message": message_payload(db.session, db.session.get(Message, message_id))}

    @acknowledged
    def on_handoff_request(self, visitor: Visitor, data: dict[str, Any]) -> dict[str, Any]:
        with unit_of_work() as uow:
            conversation_id = chat.own_conversation(uow.session, visitor,
                                                    data.get("conversation_id")).id
            hand_off(uow, conversation_id, "asked_for_human")
        return {"conversation": conversation_payload(db.session, conversation_id)}

    @acknowledged
    def on_answer_feedback(self, visitor: Visitor, data: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(data.get("helpful"), bool):
            raise ValidationFailed("helpful must be true or false", field="helpful")
        with unit_of_work() as uow:
            conversation = chat.own_conversation(uow.session, visitor,
                                                 data.get("conversation_id"))
            answer_feedback(uow, conversation, _seq(data, "seq"), helpful=data["helpful"])
        return {}

    @acknowledged
    def on_typing(self, visitor: Visitor, data: dict[str, Any]) -> dict[str, Any]:
        conversation = chat.own_conversation(db.session, visitor, data.get("conversation_id"))
        emit("typing", {"conversation_id": conversation.id, "typing": bool(data.get("typing")),
                        "author": {"kind": "customer", "name": conversation.customer.name}},
             to=conversation_room(conversation.id), namespace=AGENT_NAMESPACE)
        return {}

    @acknowledged
    def on_message_read(self, visitor: Visitor, data: dict[str, Any]) -> dict[str, Any]:
        with unit_of_work() as uow:
            conversation = chat.own_conversation(uow.session, visitor,
                                                 data.get("conversation_id"))
            chat.mark_read(uow, Actor("customer", conversation.customer_id), conversation,
                           _seq(data, "seq"))
        return {}

    @acknowledged
    def on_contact_leave(self, visitor: Visitor, data: dict[str, Any]) -> dict[str, Any]:
        with unit_of_work() as uow:
            chat.leave_contact(uow, visitor, data.get("conversation_id"),
                               email=_text(data, "email", 320, required=True),
                               name=_text(data, "name", 200))
        return {}

    @acknowledged
    def on_csat(self, visitor: Visitor, data: dict[str, Any]) -> dict[str, Any]:
        with unit_of_work() as uow:
            conversation = chat.own_conversation(uow.session, visitor,
                                                 data.get("conversation_id"))
            csat.rate(uow, Actor("customer", conversation.customer_id), conversation.id,
                      rating=data.get("rating"),
                      comment=_text(data, "comment", csat.MAX_COMMENT))
        return {}

    def _check_rate(self) -> None:
        now = time.monotonic()
        sent = self._sent.setdefault(request.sid, deque())
        while sent and now - sent[0] > SEND_WINDOW:
            sent.popleft()
        if len(sent) >= SEND_LIMIT:
            raise RateLimited(f"at most {SEND_LIMIT} messages every {SEND_WINDOW:.0f} s")
        sent.append(now)


def _authenticate(auth: Any) -> tuple[Site, Visitor]:
    if not isinstance(auth, dict):
        raise ConnectionRefusedError("invalid")
    site = sites.site_by_key(db.session, auth.get("site"))
    if site is None:
        raise ConnectionRefusedError("unknown_site")
    if not sites.origin_allowed(site, request.headers.get("Origin")):
        raise ConnectionRefusedError("origin_not_allowed")
    token = auth.get("visitor")
    token = token if chat.valid_visitor_token(token) else chat.new_visitor_token()
    locale = auth.get("locale")
    languages = current_app.config["COMPTOIR"].languages
    return site, Visitor(site.id, token, _verified_user(site, auth),
                         locale if locale in languages else None)


def _verified_user(site: Site, auth: dict[str, Any]) -> str | None:
    user_id, claimed = auth.get("user_id"), auth.get("user_hash")
    if user_id is None and claimed is None:
        return None
    if not (isinstance(user_id, str) and 0 < len(user_id) <= 200 and isinstance(claimed, str)
            and sites.verify_user(site, user_id, claimed)):
        raise ConnectionRefusedError("identity_verification_failed")
    return user_id


def _session_payload(site: Site, visitor: Visitor) -> dict[str, Any]:
    customer = chat.known_customer(db.session, visitor)
    conversation = chat.current_conversation(db.session, site, customer)
    return {"visitor": visitor.token, "verified": visitor.user_id is not None,
            "customer": {"name": customer.name if customer else "",
                         "email": _email_of(customer)},
            "site": {"name": site.name, "prechat": site.prechat, "language": site.language,
                     "agents_available": chat.agents_available(db.session, site)},
            "conversation": (conversation_payload(db.session, conversation.id)
                             if conversation else None)}


def _email_of(customer: Customer | None) -> str | None:
    emails = [i.value for i in customer.identities if i.kind == IdentityKind.EMAIL] \
        if customer else []
    return emails[0] if emails else None


def _text(data: dict[str, Any], field: str, limit: int, *, required: bool = False) -> str:
    value = data.get(field, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        need = "a non-empty text" if required else "a text"
        raise ValidationFailed(f"{field} must be {need} of at most {limit} characters",
                               field=field)
    return value


def _seq(data: dict[str, Any], field: str) -> int:
    value = data.get(field, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationFailed(f"{field} must be a whole number of at least 0", field=field)
    return value


def chat_broadcaster(socketio: SocketIO) -> Callable[[DomainEvent], None]:
    """An after-commit handler telling the customer's browser what changed."""
    def push(event: DomainEvent) -> None:
        if event.conversation_id is None:
            return
        room = conversation_room(event.conversation_id)
        if not audible(socketio, room, CHAT_NAMESPACE):
            return
        if isinstance(event, events.MessagePosted) and not event.internal:
            message = db.session.get(Message, event.message_id)
            if message is not None:
                socketio.emit("message", message_payload(db.session, message), to=room,
                              namespace=CHAT_NAMESPACE)
        elif isinstance(event, STATE_EVENTS):
            socketio.emit("conversation", conversation_payload(db.session,
                                                               event.conversation_id),
                          to=room, namespace=CHAT_NAMESPACE)
        elif isinstance(event, events.ReadUpTo):
            # Each side learns what the other one read.
            namespace = CHAT_NAMESPACE if event.reader == "agent" else AGENT_NAMESPACE
            socketio.emit("read", {"conversation_id": event.conversation_id,
                                   "seq": event.seq, "reader": event.reader},
                          to=room, namespace=namespace)
    return push


STATE_EVENTS = (events.OwnerChanged, events.StatusChanged, events.ConversationAssigned)
