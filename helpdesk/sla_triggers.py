"""When the SLA clocks move: after-commit handlers recompute a conversation's clocks on the
changes that matter, and the worker's ``sla`` job (every minute) recomputes the clocks the
settings changed and fires the warnings and breaches that are due."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from flask import Flask
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.extensions import unit_of_work
from helpdesk.models import AuthorKind
from helpdesk.orm import utcnow
from helpdesk.periodic import periodic
from helpdesk.services import sla
from helpdesk.uow import UnitOfWork

log = logging.getLogger(__name__)

CHECK_EVERY = 60.0  # seconds: alerts fire at most this late
# Opening, replies, status (pauses), priority (targets), queue and owner (policy, assistant),
# messages moved by a merge or a split.
CLOCK_EVENTS = (events.ConversationOpened, events.MessagePosted, events.StatusChanged,
                events.PriorityChanged, events.OwnerChanged, events.ConversationAssigned,
                events.ConversationsMerged, events.MessagesSplitOff, events.MessagesMovedIn)
REPLIES = (AuthorKind.CUSTOMER.value, AuthorKind.AGENT.value)


def init_app(app: Flask) -> None:
    """Keep the clocks current after each change, and run the SLA job in the worker."""
    bus = app.extensions["comptoir.events"]
    bus.subscribe_batch(CLOCK_EVENTS, on_conversations_changed)
    periodic(app, "sla clocks", CHECK_EVERY, check_clocks)


def on_conversations_changed(batch: list[events.DomainEvent]) -> None:
    """Recompute the clocks of the conversations the commit changed, once each; one look
    finds those that may have clocks."""
    changed = list(dict.fromkeys(e.conversation_id for e in batch if _moves_clocks(e)))
    if not changed:
        return
    candidates = _ids(lambda session: sla.may_have_clocks(session, changed))
    now = utcnow()
    for conversation_id in candidates:
        _guarded(sla.refresh, conversation_id, now)


def _moves_clocks(event: events.DomainEvent) -> bool:
    return event.conversation_id is not None and not (
        isinstance(event, events.MessagePosted)
        and (event.internal or event.author_kind not in REPLIES))


def check_clocks(now: datetime) -> None:
    """Recompute the clocks that settings changed, then fire the alerts that are due."""
    for conversation_id in _ids(sla.stale_conversations):
        _guarded(sla.refresh, conversation_id, now)
    for conversation_id in _ids(lambda session: sla.alerts_due(session, now)):
        _guarded(sla.fire_alerts, conversation_id, now)


def _ids(query: Callable[[Session], list[int]]) -> list[int]:
    with unit_of_work() as uow:
        return query(uow.session)


def _guarded(work: Callable[[UnitOfWork, int, datetime], None], conversation_id: int,
             now: datetime) -> None:
    """One conversation failing must not keep the others waiting: logged, retried next round."""
    try:
        with unit_of_work() as uow:
            work(uow, conversation_id, now)
    except Exception:
        log.exception("SLA clocks of conversation %s failed", conversation_id)
