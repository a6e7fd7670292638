"""Screen pops: when a call rings an agent's phone, their console shows who is calling."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask_socketio import SocketIO

from helpdesk.events import CallRinging, DomainEvent
from helpdesk.extensions import db, socketio
from helpdesk.realtime.rooms import AGENT_NAMESPACE, user_room
from helpdesk.services import calls

SCREEN_POP = "call.ringing"


def init_app(app: Flask) -> None:
    app.extensions["comptoir.events"].subscribe(CallRinging, screen_popper(socketio))


def screen_popper(sockets: SocketIO) -> Callable[[DomainEvent], None]:
    """An after-commit handler sending the call, the caller's profile and latest history to
    the agent's room (every console they have open)."""
    def pop(event: DomainEvent) -> None:
        if isinstance(event, CallRinging):
            sockets.emit(SCREEN_POP, calls.screen_pop(db.session, event.call_id),
                         to=user_room(event.user_id), namespace=AGENT_NAMESPACE)
    return pop
