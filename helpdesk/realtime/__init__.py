"""Socket.IO: namespaces registered by the factory, domain events pushed to rooms."""

from __future__ import annotations

from flask import Flask
from flask_socketio import SocketIO

from helpdesk.events import DomainEvent
from helpdesk.realtime.agent import AgentNamespace
from helpdesk.realtime.rooms import broadcaster


def register_handlers(app: Flask, socketio: SocketIO) -> None:
    socketio.on_namespace(AgentNamespace("/agent"))
    app.extensions["comptoir.events"].subscribe(DomainEvent, broadcaster(socketio))
