"""Socket.IO: namespaces registered by the factory, domain events pushed to rooms."""

from __future__ import annotations

from flask import Flask
from flask_socketio import SocketIO

from helpdesk.events import DomainEvent, NotificationCreated
from helpdesk.realtime.agent import AgentNamespace
from helpdesk.realtime.chat import ChatNamespace, chat_broadcaster
from helpdesk.realtime.rooms import broadcaster, notification_pusher


def register_handlers(app: Flask, socketio: SocketIO) -> None:
    socketio.on_namespace(AgentNamespace("/agent"))
    socketio.on_namespace(ChatNamespace())
    bus = app.extensions["comptoir.events"]
    bus.subscribe(DomainEvent, broadcaster(socketio))
    bus.subscribe(DomainEvent, chat_broadcaster(socketio))
    bus.subscribe(NotificationCreated, notification_pusher(socketio))
