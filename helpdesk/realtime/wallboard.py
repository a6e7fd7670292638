"""The wallboard live: commits that change it push a fresh board to the room ``wallboard``.

Pushes are coalesced (at most one a second however many events commit) and skipped while
nobody watches. The clock on the screen ticks the longest waits itself, from the times
in the board, so the server sends nothing just because time passes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask_socketio import SocketIO

from helpdesk.api.wallboard import board_json
from helpdesk.events import (
    CallEventReceived,
    ConversationAssigned,
    ConversationOpened,
    ConversationRouted,
    DomainEvent,
    MessagePosted,
    OwnerChanged,
    PresenceChanged,
    StaffChanged,
    StatusChanged,
)
from helpdesk.extensions import socketio
from helpdesk.realtime.rooms import AGENT_NAMESPACE

log = logging.getLogger(__name__)

WALLBOARD_ROOM = "wallboard"
PUSH_INTERVAL = 1.0  # seconds between two pushes at the most
# What moves a figure on the board: a contact arrives, is taken, routed, solved or handed
# on; an agent answers (within SLA or not); a call event; presence, staff, queue or
# membership changes.
BOARD_EVENTS = (ConversationOpened, ConversationAssigned, ConversationRouted, StatusChanged,
                OwnerChanged, CallEventReceived, PresenceChanged, StaffChanged)


class Coalescer:
    """Runs ``action`` in the background when asked, at most once every ``interval``
    seconds: asking again while a run is pending joins that run."""

    def __init__(self, action: Callable[[], None], interval: float, *,
                 spawn: Callable[..., Any], sleep: Callable[[float], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._action, self._interval = action, interval
        self._spawn, self._sleep, self._clock = spawn, sleep, clock
        self._lock = threading.Lock()
        self._pending = False
        self._last_run = float("-inf")

    def request(self) -> None:
        with self._lock:
            if self._pending:
                return
            self._pending = True
            delay = max(0.0, self._last_run + self._interval - self._clock())
        self._spawn(self._run_after, delay)

    def _run_after(self, delay: float) -> None:
        self._sleep(delay)
        with self._lock:
            # Cleared before the run: a change committed while it reads is pushed next time.
            self._pending = False
            self._last_run = self._clock()
        self._action()


def changes_the_board(event: DomainEvent) -> bool:
    """Whether ``event`` can change a figure on the wallboard."""
    if isinstance(event, MessagePosted):  # an agent's public reply may be a first response
        return event.author_kind == "agent" and not event.internal
    return isinstance(event, BOARD_EVENTS)


def init_app(app: Flask) -> None:
    """Push the board to its watchers after each commit that changes it."""
    pushes = Coalescer(lambda: _push(app, socketio), PUSH_INTERVAL,
                       spawn=socketio.start_background_task, sleep=socketio.sleep)

    def on_commit(event: DomainEvent) -> None:
        if changes_the_board(event) and _watched(app, socketio):
            pushes.request()
    app.extensions["comptoir.events"].subscribe(DomainEvent, on_commit)


def _watched(app: Flask, server: SocketIO) -> bool:
    """Whether anyone watches; behind a message queue they may be on another process."""
    if app.config["COMPTOIR"].redis_url:
        return True
    watchers = server.server.manager.get_participants(AGENT_NAMESPACE, WALLBOARD_ROOM)
    return next(watchers, None) is not None


def _push(app: Flask, server: SocketIO) -> None:
    try:
        with app.app_context():
            server.emit("wallboard", board_json(), to=WALLBOARD_ROOM, namespace=AGENT_NAMESPACE)
    except Exception:  # a background task: nobody else would hear of it
        log.exception("pushing the wallboard failed")
