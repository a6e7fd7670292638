"""The ``/agent`` namespace: staff follow conversations live, type and read in them.

Every request answers ``{"ok": true, ...}`` or ``{"ok": false, "error": "<why>"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import request
from flask_login import current_user
from flask_socketio import Namespace, emit, join_room, leave_room
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.auth.policy import Permission, allowed
from helpdesk.errors import DomainError
from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Conversation, QueueMembership
from helpdesk.realtime.chat import CHAT_NAMESPACE
from helpdesk.realtime.rooms import AGENT_NAMESPACE, conversation_room, queue_room, user_room
from helpdesk.realtime.wallboard import WALLBOARD_ROOM, board_json
from helpdesk.services import chat
from helpdesk.services.staff import token_owner

Handler = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Staff:
    """Who is behind one ``/agent`` connection, as checked when it connected."""

    user_id: int
    first_name: str  # what customers see of an agent's name
    can_write: bool  # conversations:write: typing and read marks
    can_watch_wallboard: bool  # wallboard:view


class Refused(DomainError):
    """A request answered with ``{"ok": False, "error": <the message>}``."""

    code = "refused"


def acknowledged(handler: Handler) -> Handler:
    """Run a request handler for the connection's staff member; refusals become the ack."""
    @wraps(handler)
    def run(self: AgentNamespace, data: Any = None) -> dict[str, Any]:
        staff = self.staff.get(request.sid)
        try:
            if staff is None:
                raise Refused("connect again: this connection has no session")
            return {"ok": True, **handler(self, staff, data)}
        except DomainError as exc:
            db.session.rollback()
            return {"ok": False, "error": exc.message}
    return run


class AgentNamespace(Namespace):
    """Auth in ``connect``; rooms ``user:<id>``, ``queue:<id>``, ``conversation:<id>``."""

    def __init__(self, namespace: str = AGENT_NAMESPACE) -> None:
        super().__init__(namespace)
        self.staff: dict[str, Staff] = {}

    def on_connect(self, auth: dict[str, Any] | None = None) -> None:
        user, scopes = _staff_from(auth)
        # A session outlives a deactivation: check the account itself, not just the cookie.
        if user is None or not user.active or not allowed(
                user.role, Permission.CONVERSATIONS_READ, scopes):
            raise ConnectionRefusedError("unauthorized")
        self.staff[request.sid] = Staff(
            user.id, _first_name(user.name),
            allowed(user.role, Permission.CONVERSATIONS_WRITE, scopes),
            allowed(user.role, Permission.WALLBOARD_VIEW, scopes))
        join_room(user_room(user.id))
        queue_ids = db.session.scalars(
            select(QueueMembership.queue_id).where(QueueMembership.user_id == user.id))
        for queue_id in queue_ids:
            join_room(queue_room(queue_id))

    def on_disconnect(self, *_reason: Any) -> None:
        self.staff.pop(request.sid, None)

    @acknowledged
    def on_subscribe(self, _staff: Staff, data: Any) -> dict[str, Any]:
        conversation = _existing(db.session, data)
        join_room(conversation_room(conversation.id))
        return {"room": conversation_room(conversation.id)}

    @acknowledged
    def on_unsubscribe(self, _staff: Staff, data: Any) -> dict[str, Any]:
        leave_room(conversation_room(_conversation_id(data)))
        return {}

    @acknowledged
    def on_watch_wallboard(self, staff: Staff, _data: Any) -> dict[str, Any]:
        """Join the wallboard's room; the answer carries the board as it is now."""
        if not staff.can_watch_wallboard:
            raise Refused("wallboard:view is needed to watch the wallboard")
        join_room(WALLBOARD_ROOM)
        return {"board": board_json()}

    @acknowledged
    def on_typing(self, staff: Staff, data: Any) -> dict[str, Any]:
        """Tell the customer and the other agents watching that this agent is typing."""
        conversation = _existing(db.session, data, writer=staff)
        if not isinstance(data.get("typing"), bool):
            raise Refused("typing must be true or false")
        payload = {"conversation_id": conversation.id, "typing": data["typing"],
                   "author": {"kind": "agent", "name": staff.first_name}}
        room = conversation_room(conversation.id)
        emit("typing", payload, to=room, namespace=CHAT_NAMESPACE)
        emit("typing", payload, to=room, include_self=False)
        return {}

    @acknowledged
    def on_read(self, staff: Staff, data: Any) -> dict[str, Any]:
        """The agents have read the conversation up to ``seq`` (the customer is told)."""
        seq = data.get("seq") if isinstance(data, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise Refused("seq must be a whole number of at least 0")
        with unit_of_work() as uow:
            conversation = _existing(uow.session, data, writer=staff)
            chat.mark_read(uow, Actor("agent", staff.user_id), conversation, seq)
            return {"agent_read_seq": conversation.agent_read_seq}


def _staff_from(auth: dict[str, Any] | None) -> tuple[Any, list[str] | None]:
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        token = token_owner(db.session, auth["token"])
        return (token.user, list(token.scopes)) if token else (None, None)
    if current_user.is_authenticated and _same_origin():
        return current_user, None
    return None, None


def _same_origin() -> bool:
    """A session cookie counts only from our own pages: another site's script could open
    this socket with the agent's cookies (cross-site WebSocket hijacking)."""
    origin = request.headers.get("Origin")
    return origin is None or origin.rstrip("/") == request.host_url.rstrip("/")


def _existing(session: Session, data: Any, *, writer: Staff | None = None) -> Conversation:
    """The conversation ``data`` names; with ``writer``, only if they may write in it."""
    if writer is not None and not writer.can_write:
        raise Refused("conversations:write is needed to type or mark as read")
    conversation_id = _conversation_id(data)
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise Refused(f"conversation {conversation_id} does not exist")
    return conversation


def _conversation_id(data: Any) -> int:
    value = data.get("conversation_id") if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise Refused("conversation_id must be a positive integer")


def _first_name(name: str) -> str:
    """Customers see an agent's first name only."""
    return name.split()[0] if name.strip() else ""
