"""Which committed changes send mail: after-commit handlers that queue it in the outbox.

- an agent's public reply on an email conversation, or on a live chat whose visitor left
  an address for the reply: the reply, to the customer (and the people copied);
- a conversation that an email opened: the acknowledgement (rate-limited per sender);
- an email conversation solved: the "how did we do?" survey.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app

from helpdesk import events
from helpdesk.extensions import unit_of_work
from helpdesk.models import AuthorKind, Channel, ConversationStatus
from helpdesk.services import outbox
from helpdesk.services.outbox import MailPolicy
from helpdesk.uow import UnitOfWork

log = logging.getLogger(__name__)

REPLY_CHANNELS = (Channel.EMAIL.value, Channel.CHAT.value)


def init_app(app: Flask) -> None:
    """Queue the app's outgoing mail after the commits that call for it."""
    bus = app.extensions["comptoir.events"]
    bus.subscribe(events.MessagePosted, on_message_posted)
    bus.subscribe_batch((events.ConversationOpened,), on_conversations_opened)
    bus.subscribe(events.StatusChanged, on_status_changed)


def on_message_posted(event: events.DomainEvent) -> None:
    if (isinstance(event, events.MessagePosted) and event.author_kind == AuthorKind.AGENT
            and not event.internal and event.channel in REPLY_CHANNELS):
        _queue(outbox.queue_agent_reply, event.message_id)


def on_conversations_opened(batch: list[events.DomainEvent]) -> None:
    """The acknowledgements of a commit's new email conversations, queued together; should
    that fail, each is queued on its own, so one failing leaves the others be."""
    conversation_ids = [e.conversation_id for e in batch
                        if e.channel == Channel.EMAIL and e.conversation_id is not None]
    if not conversation_ids:
        return
    policy = MailPolicy.from_settings(current_app.config["COMPTOIR"])
    try:
        with unit_of_work() as uow:
            outbox.queue_acknowledgements(uow, policy, conversation_ids)
    except Exception:
        log.exception("the acknowledgements of %d conversations failed: queueing them one "
                      "by one", len(conversation_ids))
        for conversation_id in conversation_ids:
            _acknowledge_alone(policy, conversation_id)


def _acknowledge_alone(policy: MailPolicy, conversation_id: int) -> None:
    try:
        with unit_of_work() as uow:
            outbox.queue_acknowledgements(uow, policy, [conversation_id])
    except Exception:
        log.exception("the acknowledgement of conversation %s failed", conversation_id)


def on_status_changed(event: events.DomainEvent) -> None:
    if (isinstance(event, events.StatusChanged) and event.new == ConversationStatus.SOLVED
            and event.channel == Channel.EMAIL and event.conversation_id is not None):
        _queue(outbox.queue_solved_survey, event.conversation_id)


def _queue(service: Callable[[UnitOfWork, MailPolicy, int], object], target_id: int) -> None:
    policy = MailPolicy.from_settings(current_app.config["COMPTOIR"])
    with unit_of_work() as uow:
        service(uow, policy, target_id)
