"""Room names follow domain ids; after-commit events are pushed to them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from flask_socketio import SocketIO

from helpdesk.events import DomainEvent

AGENT_NAMESPACE = "/agent"


def conversation_room(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def queue_room(queue_id: int) -> str:
    return f"queue:{queue_id}"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def broadcaster(socketio: SocketIO) -> Callable[[DomainEvent], None]:
    """An after-commit handler emitting conversation events to their room."""
    def emit(event: DomainEvent) -> None:
        if event.conversation_id is None or not event.timeline_type:
            return
        data = {"type": event.timeline_type, "conversation_id": event.conversation_id,
                "actor": asdict(event.actor), "occurred_at": event.occurred_at.isoformat(),
                "payload": event.payload()}
        socketio.emit("conversation.event", data, to=conversation_room(event.conversation_id),
                      namespace=AGENT_NAMESPACE)
    return emit
