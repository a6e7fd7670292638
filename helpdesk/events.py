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
    kind: str  # "agent" (any staff user), "customer", "bot", "system", "automation" (a rule)
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
    """Customer ``source_id`` was merged into this one (``merge_id``: the record of what
    moved, ``moved``: how many rows per ``table.column``)."""

    timeline_type = "customer.merged"
    audited = True
    source_id: int
    merge_id: int
    reason: str
    moved: dict[str, int]

    def payload(self) -> dict[str, Any]:
        return {"source_customer_id": self.source_id, "merge_id": self.merge_id,
                "reason": self.reason, "moved": self.moved}


@dataclass(frozen=True, kw_only=True)
class CustomersUnmerged(DomainEvent):
    """Merge ``merge_id`` was undone: customer ``source_id`` left this one with what it
    brought."""

    timeline_type = "customer.unmerged"
    audited = True
    source_id: int
    merge_id: int

    def payload(self) -> dict[str, Any]:
        return {"source_customer_id": self.source_id, "merge_id": self.merge_id}


@dataclass(frozen=True, kw_only=True)
class CustomerRestored(DomainEvent):
    """This customer, merged into ``target_id`` by ``merge_id``, is on their own again."""

    timeline_type = "customer.restored"
    target_id: int
    merge_id: int

    def payload(self) -> dict[str, Any]:
        return {"target_customer_id": self.target_id, "merge_id": self.merge_id}


@dataclass(frozen=True, kw_only=True)
class OrganisationChanged(DomainEvent):
    """The customer joined or left an organisation (``automatic``: by their email domain)."""

    timeline_type = "customer.organisation_changed"
    audited = True
    old_id: int | None
    new_id: int | None
    name: str  # the organisation joined, else the one left
    automatic: bool = False

    def payload(self) -> dict[str, Any]:
        return {"from": self.old_id, "to": self.new_id, "name": self.name,
                "automatic": self.automatic}


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
    previous_queue_id: int | None = None

    def payload(self) -> dict[str, Any]:
        return {"assignee_id": self.assignee_id, "queue_id": self.queue_id,
                "previous_assignee_id": self.previous_assignee_id,
                "previous_queue_id": self.previous_queue_id}


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
    """The customer rated the conversation (1 to 5), for the first time; whom the rating is
    about was fixed then: ``agent_id``, ``queue_id``, ``by_assistant``."""

    timeline_type = "conversation.rated"
    rating: int
    comment: str
    agent_id: int | None = None
    queue_id: int | None = None
    by_assistant: bool = False

    def payload(self) -> dict[str, Any]:
        return {"rating": self.rating, "comment": self.comment, "agent_id": self.agent_id,
                "queue_id": self.queue_id, "by_assistant": self.by_assistant}


@dataclass(frozen=True, kw_only=True)
class CsatChanged(DomainEvent):
    """The customer changed their rating or its comment (within the days allowed)."""

    timeline_type = "conversation.rating_changed"
    rating: int
    comment: str
    previous_rating: int
    previous_comment: str

    def payload(self) -> dict[str, Any]:
        return {"rating": self.rating, "comment": self.comment,
                "previous_rating": self.previous_rating,
                "previous_comment": self.previous_comment}


@dataclass(frozen=True, kw_only=True)
class CustomerImported(DomainEvent):
    """Row ``row`` of customer import ``import_id`` created or changed this customer (what
    it changed is recorded by the events of each change: created, updated, identity added)."""

    timeline_type = "customer.imported"
    import_id: int
    row: int
    created: bool

    def payload(self) -> dict[str, Any]:
        return {"import_id": self.import_id, "row": self.row, "created": self.created}


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


@dataclass(frozen=True, kw_only=True)
class MacroApplied(DomainEvent):
    """An agent applied a macro (its changes are recorded as their own events)."""

    timeline_type = "conversation.macro_applied"
    audited = True
    macro_id: int
    name: str
    sent: bool  # its text was posted as a reply

    def payload(self) -> dict[str, Any]:
        return {"macro_id": self.macro_id, "name": self.name, "sent": self.sent}


@dataclass(frozen=True, kw_only=True)
class CustomFieldsChanged(DomainEvent):
    """Custom field values set or cleared (``None``), by field key."""

    timeline_type = "conversation.custom_fields_changed"
    audited = True
    changes: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        return {"changes": self.changes}


@dataclass(frozen=True, kw_only=True)
class ConversationsMerged(DomainEvent):
    """Conversation ``source_id`` was merged into this one: its messages moved here."""

    timeline_type = "conversation.merged"
    audited = True
    source_id: int
    message_ids: list[int]

    def payload(self) -> dict[str, Any]:
        return {"source_id": self.source_id, "message_ids": self.message_ids}


@dataclass(frozen=True, kw_only=True)
class MergedInto(DomainEvent):
    """This conversation was merged into ``target_id`` (and closed)."""

    timeline_type = "conversation.merged_into"
    target_id: int

    def payload(self) -> dict[str, Any]:
        return {"target_id": self.target_id}


@dataclass(frozen=True, kw_only=True)
class MessagesSplitOff(DomainEvent):
    """Messages left this conversation for ``target_id`` (``created``: opened for them)."""

    timeline_type = "conversation.messages_split_off"
    audited = True
    target_id: int
    message_ids: list[int]
    created: bool

    def payload(self) -> dict[str, Any]:
        return {"target_id": self.target_id, "message_ids": self.message_ids,
                "created": self.created}


@dataclass(frozen=True, kw_only=True)
class MessagesMovedIn(DomainEvent):
    """Messages split off conversation ``source_id`` came into this one."""

    timeline_type = "conversation.messages_moved_in"
    source_id: int
    message_ids: list[int]

    def payload(self) -> dict[str, Any]:
        return {"source_id": self.source_id, "message_ids": self.message_ids}


@dataclass(frozen=True, kw_only=True)
class ConversationRouted(DomainEvent):
    """Routing's decision on a conversation (``assigned``, ``waiting``, ``overflowed``,
    ``released``) and why: strategy, agent, load and capacity, skills, or who was missing."""

    timeline_type = "conversation.routed"
    decision: str
    why: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        return {"decision": self.decision, **self.why}


@dataclass(frozen=True, kw_only=True)
class RequiredSkillsChanged(DomainEvent):
    """The skills an agent needs for this conversation (skills routing) were replaced."""

    timeline_type = "conversation.required_skills_changed"
    audited = True
    skills: list[str]

    def payload(self) -> dict[str, Any]:
        return {"skills": self.skills}


@dataclass(frozen=True, kw_only=True)
class PresenceChanged(DomainEvent):
    """A staff member went online, away or offline (``automatic``: the auto-away job)."""

    user_id: int
    old: str
    new: str
    automatic: bool = False


@dataclass(frozen=True, kw_only=True)
class CallEventReceived(DomainEvent):
    """A PBX reported a call event (``occurred_at``: the event's own time); ``status``: the
    call's state once every event known so far was taken into account."""

    timeline_type = "call.event"
    call_id: int
    event: str
    number: str
    agent_id: int | None
    queue_id: int | None
    recording_url: str
    status: str

    def payload(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "event": self.event, "number": self.number,
                "agent_id": self.agent_id, "queue_id": self.queue_id,
                "recording_url": self.recording_url, "status": self.status}


@dataclass(frozen=True, kw_only=True)
class CallRinging(DomainEvent):
    """A call rings an agent's phone: their console pops the caller up (not in any history)."""

    call_id: int
    user_id: int


@dataclass(frozen=True, kw_only=True)
class CallNotesSaved(DomainEvent):
    timeline_type = "call.notes_saved"
    audited = True
    call_id: int
    excerpt: str

    def payload(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "excerpt": self.excerpt}


@dataclass(frozen=True, kw_only=True)
class RuleApplied(DomainEvent):
    """An automation rule fired (actor ``automation``): which actions it applied, which failed
    (each change is also recorded as its own event, made by the rule)."""

    timeline_type = "automation.applied"
    rule_id: int
    rule_name: str
    trigger: str
    applied: list[dict[str, Any]]
    failed: list[dict[str, Any]]

    def payload(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "rule_name": self.rule_name, "trigger": self.trigger,
                "applied": self.applied, "failed": self.failed}


@dataclass(frozen=True, kw_only=True)
class SlaAlert(DomainEvent):
    """Base of the SLA alerts: one metric of the conversation (``first_response``,
    ``next_response``, ``resolution``) due at ``due_at``; ``actions`` it set off."""

    metric: str
    due_at: datetime
    actions: list[str]

    def payload(self) -> dict[str, Any]:
        return {"metric": self.metric, "due_at": self.due_at.isoformat(),
                "actions": self.actions}


@dataclass(frozen=True, kw_only=True)
class SlaWarned(SlaAlert):
    """A target is about to be missed (the policy's warning time before it)."""

    timeline_type = "sla.warning"


@dataclass(frozen=True, kw_only=True)
class SlaBreached(SlaAlert):
    """A target was missed (recorded in ``sla_breaches`` too)."""

    timeline_type = "sla.breached"


@dataclass(frozen=True, kw_only=True)
class CustomerExportRequested(DomainEvent):
    """A staff member asked for an archive of the customer's data (data request
    ``request_id``)."""

    timeline_type = "customer.export_requested"
    audited = True
    request_id: int

    def payload(self) -> dict[str, Any]:
        return {"request_id": self.request_id}


@dataclass(frozen=True, kw_only=True)
class CustomerErased(DomainEvent):
    """The customer's data was erased: the one history row left of them, with counts only
    (rows deleted and anonymised per table, files removed), never personal data."""

    timeline_type = "customer.erased"
    audited = True
    request_id: int
    counts: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        return {"request_id": self.request_id, **self.counts}


Handler = Callable[[DomainEvent], None]
BatchHandler = Callable[[list[DomainEvent]], None]


class EventBus:
    """After-commit handlers, registered per event class (subclasses included).

    Events are dispatched in the order they were recorded; for each event the
    handlers of its own class run first, then those of its base classes, each
    group in subscription order. Then each batch handler runs once with the
    commit's events of its classes, in order: a commit of many changes (a batch
    of emails taken in) shares its lookups and its transaction. A failing
    handler is logged and the others still run: the change is committed, one
    broken side effect must not starve the rest.
    """

    def __init__(self) -> None:
        self._handlers: dict[type[DomainEvent], list[Handler]] = defaultdict(list)
        self._batch_handlers: list[tuple[tuple[type[DomainEvent], ...], BatchHandler]] = []

    def subscribe(self, event_type: type[DomainEvent], handler: Handler) -> None:
        self._handlers[event_type].append(handler)

    def subscribe_batch(self, event_types: tuple[type[DomainEvent], ...],
                        handler: BatchHandler) -> None:
        self._batch_handlers.append((event_types, handler))

    def publish(self, events: list[DomainEvent]) -> None:
        for event in events:
            for handler in self._handlers_for(type(event)):
                _run(handler, event, type(event).__name__)
        for event_types, batch_handler in self._batch_handlers:
            batch = [event for event in events if isinstance(event, event_types)]
            if batch:
                _run(batch_handler, batch, f"{len(batch)} events")

    def _handlers_for(self, event_type: type[DomainEvent]) -> list[Handler]:
        return [h for cls in event_type.__mro__ for h in self._handlers.get(cls, ())]


def _run(handler: Callable[[Any], None], argument: Any, what: str) -> None:
    try:
        handler(argument)
    except Exception:
        log.exception("after-commit handler %r failed on %s", handler, what)
