"""The ``/agent`` namespace: staff follow conversations live."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_socketio import Namespace, join_room, leave_room
from sqlalchemy import select

from helpdesk.auth.policy import Permission, allowed
from helpdesk.extensions import db
from helpdesk.models import Conversation, QueueMembership
from helpdesk.realtime.rooms import conversation_room, queue_room, user_room
from helpdesk.services.staff import token_owner


class AgentNamespace(Namespace):
    """Auth in ``connect``; rooms ``user:<id>``, ``queue:<id>``, ``conversation:<id>``."""

    def on_connect(self, auth: dict[str, Any] | None = None) -> None:
        user, scopes = _staff_from(auth)
        # A session outlives a deactivation: check the account itself, not just the cookie.
        if user is None or not user.active or not allowed(
                user.role, Permission.CONVERSATIONS_READ, scopes):
            raise ConnectionRefusedError("unauthorized")
        join_room(user_room(user.id))
        queue_ids = db.session.scalars(
            select(QueueMembership.queue_id).where(QueueMembership.user_id == user.id))
        for queue_id in queue_ids:
            join_room(queue_room(queue_id))

    def on_subscribe(self, data: Any) -> dict[str, Any]:
        conversation_id = _conversation_id(data)
        if conversation_id is None:
            return {"ok": False, "error": "conversation_id must be a positive integer"}
        if db.session.get(Conversation, conversation_id) is None:
            return {"ok": False, "error": f"conversation {conversation_id} does not exist"}
        join_room(conversation_room(conversation_id))
        return {"ok": True, "room": conversation_room(conversation_id)}

    def on_unsubscribe(self, data: Any) -> dict[str, Any]:
        conversation_id = _conversation_id(data)
        if conversation_id is None:
            return {"ok": False, "error": "conversation_id must be a positive integer"}
        leave_room(conversation_room(conversation_id))
        return {"ok": True}


def _staff_from(auth: dict[str, Any] | None) -> tuple[Any, list[str] | None]:
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        token = token_owner(db.session, auth["token"])
        return (token.user, list(token.scopes)) if token else (None, None)
    if current_user.is_authenticated:
        return current_user, None
    return None, None


def _conversation_id(data: Any) -> int | None:
    value = data.get("conversation_id") if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None
