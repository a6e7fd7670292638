"""Which committed changes send mail: after-commit handlers that queue it in the outbox.

- an agent's public reply on an email conversation, or on a live chat whose visitor left
  an address for the reply: the reply, to the customer (and the people copied);
- a conversation that an email opened: the acknowledgement (rate-limited per sender);
- an email conversation solved: the "how did we do?" survey.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

from helpdesk import events
from helpdesk.extensions import unit_of_work
from helpdesk.models import AuthorKind, Channel, ConversationStatus
from helpdesk.services import outbox
from helpdesk.services.outbox import MailPolicy
from helpdesk.uow import UnitOfWork

REPLY_CHANNELS = (Channel.EMAIL.value, Channel.CHAT.value)


def init_app(app: Flask) -> None:
    """Queue the app's outgoing mail after the commits that call for it."""
    bus = app.extensions["comptoir.events"]
    bus.subscribe(events.MessagePosted, on_message_posted)
    bus.subscribe(events.ConversationOpened, on_conversation_opened)
    bus.subscribe(events.StatusChanged, on_status_changed)


def on_message_posted(event: events.DomainEvent) -> None:
    if (isinstance(event, events.MessagePosted) and event.author_kind == AuthorKind.AGENT
            and not event.internal and event.channel in REPLY_CHANNELS):
        _queue(outbox.queue_agent_reply, event.message_id)


def on_conversation_opened(event: events.DomainEvent) -> None:
    if event.channel == Channel.EMAIL and event.conversation_id is not None:
        _queue(outbox.queue_acknowledgement, event.conversation_id)


def on_status_changed(event: events.DomainEvent) -> None:
    if (isinstance(event, events.StatusChanged) and event.new == ConversationStatus.SOLVED
            and event.channel == Channel.EMAIL and event.conversation_id is not None):
        _queue(outbox.queue_solved_survey, event.conversation_id)


def _queue(service: Callable[[UnitOfWork, MailPolicy, int], object], target_id: int) -> None:
    policy = MailPolicy.from_settings(current_app.config["COMPTOIR"])
    with unit_of_work() as uow:
        service(uow, policy, target_id)
