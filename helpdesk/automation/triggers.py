"""Which committed events trigger rules, and the key that tells each occurrence apart.

- ``conversation_opened``: a conversation was opened (its channel is a condition);
- ``customer_message``: the customer wrote (public message, any channel);
- ``email_received``: the customer wrote by email (a new conversation's first mail too);
- ``status_changed``, ``priority_changed``: the field changed;
- ``assigned``: the conversation was given to an agent (not taken back to its queue).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask

from helpdesk import events
from helpdesk.automation import engine
from helpdesk.automation.engine import Occurrence
from helpdesk.extensions import unit_of_work
from helpdesk.models import AuthorKind, Channel, RuleTrigger

T = RuleTrigger
SIMPLE = {"conversation.opened": T.CONVERSATION_OPENED,
          "conversation.status_changed": T.STATUS_CHANGED,
          "conversation.priority_changed": T.PRIORITY_CHANGED}


def init_app(app: Flask) -> None:
    """Run the event rules after the commits that trigger them."""
    bus = app.extensions["comptoir.events"]
    bus.subscribe_batch((events.ConversationOpened, events.MessagePosted,
                         events.StatusChanged, events.PriorityChanged,
                         events.ConversationAssigned), on_events)


def on_events(batch: list[events.DomainEvent]) -> None:
    occurrences = [o for event in batch for o in occurrences_of(event)]
    if occurrences:
        engine.fire(unit_of_work, occurrences)


def occurrences_of(event: events.DomainEvent) -> list[Occurrence]:
    """The trigger occurrences an event stands for (none for most events)."""
    if event.conversation_id is None or event.timeline_type is None:
        return []
    payload = event.payload()
    key = occurrence_key(event.timeline_type, payload, event.occurred_at)
    return [Occurrence(trigger, event.conversation_id, key, payload.get("message_id"))
            for trigger in triggered(event.timeline_type, event.channel, payload)]


def triggered(kind: str, channel: str | None, payload: dict[str, Any]) -> list[RuleTrigger]:
    """The event triggers of a history event, by its type, channel and payload (the same for
    a live event and a stored one, which the dry run replays)."""
    if kind == "message.posted":
        if payload["author_kind"] != AuthorKind.CUSTOMER or payload["internal"]:
            return []
        return [T.CUSTOMER_MESSAGE, *([T.EMAIL_RECEIVED] if channel == Channel.EMAIL else [])]
    if kind == "conversation.assigned":
        assigned = payload["assignee_id"] not in (None, payload["previous_assignee_id"])
        return [T.ASSIGNED] if assigned else []
    trigger = SIMPLE.get(kind)
    return [trigger] if trigger else []


def occurrence_key(kind: str, payload: dict[str, Any], occurred_at: datetime) -> str:
    """What tells this occurrence from the conversation's others of the same trigger."""
    if kind == "message.posted":
        return f"message:{payload['message_id']}"
    if kind == "conversation.opened":
        return "opened"
    change = payload.get("assignee_id", f"{payload.get('from')}>{payload.get('to')}")
    return f"{change}@{occurred_at.isoformat()}"
