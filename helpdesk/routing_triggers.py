"""When routing runs (helpdesk/services/routing.py):

- after the commit of every change that can give a waiting conversation an agent: a
  conversation opened or handed to a queue, moved to another queue, reopened; an agent
  freed (an item solved, closed, set pending or taken from them) or back online;
- in the worker: overflow to fallback queues, then every queue (the safety net for a
  change whose handler failed or a conversation another process held), and auto-away;
- each staff request from a browser stamps ``last_seen_at``, which auto-away reads.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import select

from helpdesk import events
from helpdesk.auth.guard import current_principal
from helpdesk.extensions import unit_of_work
from helpdesk.models import Conversation, ConversationStatus, Owner, Presence
from helpdesk.orm import utcnow
from helpdesk.periodic import periodic
from helpdesk.services import routing, staff

OPEN = (ConversationStatus.NEW.value, ConversationStatus.OPEN.value)
AUTO_AWAY_EVERY = 60.0


def init_app(app: Flask) -> None:
    """Subscribe the after-commit handlers; register the worker's jobs and the stamp."""
    bus = app.extensions["comptoir.events"]
    bus.subscribe_batch((events.ConversationOpened,), on_conversations_opened)
    bus.subscribe(events.OwnerChanged, on_owner_changed)
    bus.subscribe(events.ConversationAssigned, on_assigned)
    bus.subscribe(events.StatusChanged, on_status_changed)
    bus.subscribe(events.PresenceChanged, on_presence_changed)
    settings = app.config["COMPTOIR"]
    periodic(app, "routing: overflow, then every queue", settings.routing_sweep_seconds,
             overflow_and_route)
    if settings.presence_auto_away_seconds > 0:
        periodic(app, "presence: auto-away", AUTO_AWAY_EVERY, set_idle_staff_away)
    app.before_request(stamp_activity)


def on_conversations_opened(batch: list[events.DomainEvent]) -> None:
    opened = [e.conversation_id for e in batch if e.conversation_id is not None]
    with unit_of_work() as uow:
        routing.route_many(uow, opened)


def on_owner_changed(event: events.DomainEvent) -> None:
    if isinstance(event, events.OwnerChanged) and event.new == Owner.QUEUE.value:
        _route(event.conversation_id)


def on_assigned(event: events.DomainEvent) -> None:
    """Moved between queues while waiting: route it; taken from an agent: they have room."""
    if not isinstance(event, events.ConversationAssigned):
        return
    if event.assignee_id is None and event.previous_assignee_id is None:
        _route(event.conversation_id)
    if event.previous_assignee_id not in (None, event.assignee_id):
        _route_for(event.previous_assignee_id)


def on_status_changed(event: events.DomainEvent) -> None:
    """Reopened: it may wait again; no longer new or open: its agent has room."""
    if not isinstance(event, events.StatusChanged):
        return
    was_open, is_open = event.old in OPEN, event.new in OPEN
    if is_open and not was_open:
        _route(event.conversation_id)
    elif was_open and not is_open:
        _route_for(_assignee(event.conversation_id))


def on_presence_changed(event: events.DomainEvent) -> None:
    if isinstance(event, events.PresenceChanged) and event.new == Presence.ONLINE.value:
        _route_for(event.user_id)


def overflow_and_route(now: datetime) -> None:
    """The worker's routing job: overdue conversations to their overflow queue, then every
    queue that routes by itself."""
    with unit_of_work() as uow:
        routing.overflow_due(uow, now)
        routing.route_all(uow)


def set_idle_staff_away(now: datetime) -> None:
    idle_seconds = current_app.config["COMPTOIR"].presence_auto_away_seconds
    with unit_of_work() as uow:
        staff.auto_away(uow, now, idle_seconds)


def stamp_activity() -> None:
    """A staff member's browser asked for something: they are there (API tokens are
    scripts, not presence)."""
    principal = current_principal()
    now = utcnow()
    if principal is None or principal.token_id is not None:
        return
    if staff.seen_recently(principal.user, now):
        return
    with unit_of_work() as uow:
        staff.note_activity(uow, principal.user.id, now)


def _route(conversation_id: int | None) -> None:
    if conversation_id is not None:
        with unit_of_work() as uow:
            routing.route(uow, conversation_id)


def _route_for(user_id: int | None) -> None:
    if user_id is not None:
        with unit_of_work() as uow:
            routing.route_for_agent(uow, user_id)


def _assignee(conversation_id: int | None) -> int | None:
    with unit_of_work() as uow:
        return uow.session.scalar(select(Conversation.assignee_id)
                                  .where(Conversation.id == conversation_id))
