"""Domain events and their dispatch.

Services record events on the unit of work. Each event that concerns a customer
becomes a TimelineEvent row *in the same transaction* (the history can never miss
a change that was committed); staff actions also become AuditLog rows. Side
effects (Socket.IO, webhooks, the assistant) run only after the commit succeeded.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from helpdesk.orm import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    kind: str  # "agent" (any staff user), "customer", "bot", "system"
    id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind == "agent"


SYSTEM = Actor("system")


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Something that happened; ``timeline_type`` names it in the customer history."""

    timeline_type: ClassVar[str | None] = None
    audited: ClassVar[bool] = False

    actor: Actor
    customer_id: int | None = None
    conversation_id: int | None = None
    channel: str | None = None
    occurred_at: datetime = field(default_factory=utcnow)

    def payload(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, kw_only=True)
class CustomerCreated(DomainEvent):
    timeline_type = "customer.created"
    name: str = ""

    def payload(self) -> dict[str, Any]:
        return {"name": self.name}


@dataclass(frozen=True, kw_only=True)
class CustomerUpdated(DomainEvent):
    timeline_type = "customer.updated"
    audited = True
    changes: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        return {"changes": self.changes}


@dataclass(frozen=True, kw_only=True)
class IdentityEvent(DomainEvent):
    """Base of the identity events (handlers subscribe to the concrete ones)."""

    kind: str
    value: str

    def payload(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value}


@dataclass(frozen=True, kw_only=True)
class IdentityAdded(IdentityEvent):
    timeline_type = "identity.added"


@dataclass(frozen=True, kw_only=True)
class IdentityRemoved(IdentityEvent):
    timeline_type = "identity.removed"
    audited = True


@dataclass(frozen=True, kw_only=True)
class CustomersMerged(DomainEvent):
    timeline_type = "customer.merged"
    audited = True
    source_id: int

    def payload(self) -> dict[str, Any]:
        return {"source_customer_id": self.source_id}


@dataclass(frozen=True, kw_only=True)
class ConversationOpened(DomainEvent):
    timeline_type = "conversation.opened"
    subject: str

    def payload(self) -> dict[str, Any]:
        return {"subject": self.subject}


@dataclass(frozen=True, kw_only=True)
class MessagePosted(DomainEvent):
    timeline_type = "message.posted"
    message_id: int
    seq: int
    author_kind: str
    internal: bool
    excerpt: str

    def payload(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "seq": self.seq, "author_kind": self.author_kind,
                "internal": self.internal, "excerpt": self.excerpt}


@dataclass(frozen=True, kw_only=True)
class ConversationAssigned(DomainEvent):
    timeline_type = "conversation.assigned"
    audited = True
    assignee_id: int | None
    queue_id: int | None
    previous_assignee_id: int | None

    def payload(self) -> dict[str, Any]:
        return {"assignee_id": self.assignee_id, "queue_id": self.queue_id,
                "previous_assignee_id": self.previous_assignee_id}


@dataclass(frozen=True, kw_only=True)
class FieldChanged(DomainEvent):
    """Base of the one-field conversation changes (handlers subscribe to the concrete ones)."""

    audited = True
    old: str
    new: str

    def payload(self) -> dict[str, Any]:
        return {"from": self.old, "to": self.new}


@dataclass(frozen=True, kw_only=True)
class StatusChanged(FieldChanged):
    timeline_type = "conversation.status_changed"


@dataclass(frozen=True, kw_only=True)
class PriorityChanged(FieldChanged):
    timeline_type = "conversation.priority_changed"


@dataclass(frozen=True, kw_only=True)
class OwnerChanged(FieldChanged):
    """Who answers: the assistant (``bot``), a queue, or an agent; ``reason`` says why."""

    timeline_type = "conversation.owner_changed"
    reason: str = ""

    def payload(self) -> dict[str, Any]:
        return super().payload() | {"reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class ReadUpTo(DomainEvent):
    """The customer or the agents read the conversation up to ``seq`` (not in the history)."""

    reader: str  # "customer" or "agent"
    seq: int


@dataclass(frozen=True, kw_only=True)
class CsatGiven(DomainEvent):
    timeline_type = "conversation.rated"
    rating: int
    comment: str

    def payload(self) -> dict[str, Any]:
        return {"rating": self.rating, "comment": self.comment}


@dataclass(frozen=True, kw_only=True)
class TagsChanged(DomainEvent):
    timeline_type = "conversation.tags_changed"
    audited = True
    added: list[str]
    removed: list[str]

    def payload(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed}


@dataclass(frozen=True, kw_only=True)
class AutoReplyReceived(DomainEvent):
    """An automatic answer (out of office…) came in: kept in the history, never answered."""

    timeline_type = "email.auto_reply"
    inbound_email_id: int
    subject: str
    reason: str

    def payload(self) -> dict[str, Any]:
        return {"inbound_email_id": self.inbound_email_id, "subject": self.subject,
                "reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class EmailBounced(DomainEvent):
    """Mail to the customer came back undelivered (``permanent``: the address is dead)."""

    timeline_type = "email.bounced"
    inbound_email_id: int
    recipients: list[str]
    status: str
    diagnostic: str
    permanent: bool

    def payload(self) -> dict[str, Any]:
        return {"inbound_email_id": self.inbound_email_id, "recipients": self.recipients,
                "status": self.status, "diagnostic": self.diagnostic,
                "permanent": self.permanent}


@dataclass(frozen=True, kw_only=True)
class StaffChanged(DomainEvent):
    """A staff account, token or queue was created or changed (audit only)."""

    audited = True
    action: str
    target_type: str
    target_id: int | None
    details: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return self.details


@dataclass(frozen=True, kw_only=True)
class NotificationCreated(DomainEvent):
    """A staff member was notified (pushed to their browser; not in any history)."""

    notification_id: int
    user_id: int
    kind: str
    text: str

    def payload(self) -> dict[str, Any]:
        return {"id": self.notification_id, "kind": self.kind, "text": self.text,
                "conversation_id": self.conversation_id,
                "created_at": self.occurred_at.isoformat()}


Handler = Callable[[DomainEvent], None]


class EventBus:
    """After-commit handlers, registered per event class (subclasses included).

    Events are dispatched in the order they were recorded; for each event the
    handlers of its own class run first, then those of its base classes, each
    group in subscription order. A failing handler is logged and the others
    still run: the change is committed, one broken side effect must not starve
    the rest.
    """

    def __init__(self) -> None:
        self._handlers: dict[type[DomainEvent], list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[DomainEvent], handler: Handler) -> None:
        self._handlers[event_type].append(handler)

    def publish(self, events: list[DomainEvent]) -> None:
        for event in events:
            for handler in self._handlers_for(type(event)):
                _run(handler, event)

    def _handlers_for(self, event_type: type[DomainEvent]) -> list[Handler]:
        return [h for cls in event_type.__mro__ for h in self._handlers.get(cls, ())]


def _run(handler: Handler, event: DomainEvent) -> None:
    try:
        handler(event)
    except Exception:
        log.exception("after-commit handler %r failed on %s", handler, type(event).__name__)
