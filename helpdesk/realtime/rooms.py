"""Room names follow domain ids; after-commit events are pushed to them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from flask_socketio import SocketIO
from socketio import PubSubManager
from sqlalchemy import select

from helpdesk.events import DomainEvent, NotificationCreated, OwnerChanged
from helpdesk.extensions import db
from helpdesk.models import Conversation, Owner

AGENT_NAMESPACE = "/agent"


def conversation_room(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def queue_room(queue_id: int) -> str:
    return f"queue:{queue_id}"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def audible(socketio: SocketIO, room: str, namespace: str) -> bool:
    """Whether an emit to the room may reach someone: through a message queue, any other
    process's clients may be in it; without one, only this process's (a worker has none),
    and building what nobody hears is waste."""
    manager = socketio.server.manager
    if isinstance(manager, PubSubManager):
        return True
    return next(manager.get_participants(namespace, room), None) is not None


def broadcaster(socketio: SocketIO) -> Callable[[DomainEvent], None]:
    """An after-commit handler emitting conversation events to their room, and handoffs
    (a new owner ``queue``) to that queue's room as well, with ``queue_id`` and ``channel``."""
    def emit(event: DomainEvent) -> None:
        if event.conversation_id is None or not event.timeline_type:
            return
        data = _event_data(event)
        room = conversation_room(event.conversation_id)
        if audible(socketio, room, AGENT_NAMESPACE):
            socketio.emit("conversation.event", data, to=room, namespace=AGENT_NAMESPACE)
        queue_id = handed_to_queue(event)
        if queue_id is not None:
            socketio.emit("conversation.event",
                          {**data, "queue_id": queue_id, "channel": event.channel},
                          to=queue_room(queue_id), namespace=AGENT_NAMESPACE)
    return emit


def notification_pusher(socketio: SocketIO) -> Callable[[DomainEvent], None]:
    """An after-commit handler sending each new notification to its staff member's room."""
    def push(event: DomainEvent) -> None:
        if isinstance(event, NotificationCreated):
            socketio.emit("notification", event.payload(), to=user_room(event.user_id),
                          namespace=AGENT_NAMESPACE)
    return push


def handed_to_queue(event: DomainEvent) -> int | None:
    """The queue a conversation was just handed to, when ``event`` gives it to a queue."""
    if not isinstance(event, OwnerChanged) or event.new != Owner.QUEUE.value:
        return None
    # A column read, not the session's copy: that one may predate the commit.
    return db.session.scalar(select(Conversation.queue_id)
                             .where(Conversation.id == event.conversation_id))


def _event_data(event: DomainEvent) -> dict[str, Any]:
    return {"type": event.timeline_type, "conversation_id": event.conversation_id,
            "actor": asdict(event.actor), "occurred_at": event.occurred_at.isoformat(),
            "payload": event.payload()}
