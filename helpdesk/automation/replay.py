"""The dry run: which conversations a rule would have fired on over the last days.

It replays the stored history instead of running anything. For each conversation with
history of the trigger's kind in the window, its state at the start of the scan is rebuilt
by undoing, from its state now, the changes recorded since (status, priority, tags, owner,
assignee and queue); then its events are replayed in order, the trigger's occurrences
found, and the conditions evaluated on the state of each moment.

Limits (docs/automation.md): subject, channel and the customer's addresses and language
are taken as they are now; a time trigger's state must have begun inside the scan (the
window plus the rule's delay); merges and splits of conversations are not replayed; at
most ``MAX_CONVERSATIONS`` conversations, the most recently active first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from helpdesk.automation import triggers
from helpdesk.automation.conditions import Facts, Field, Group
from helpdesk.automation.timed import ASSIGNMENT_TYPES
from helpdesk.models import (
    AuthorKind,
    Conversation,
    ConversationStatus,
    Customer,
    IdentityKind,
    Message,
    Owner,
    RuleTrigger,
    TimelineEvent,
)

WINDOW = timedelta(days=7)
MAX_CONVERSATIONS = 2000
MAX_SHOWN = 200
T = RuleTrigger
STATE_TYPES = ("conversation.status_changed", "conversation.priority_changed",
               "conversation.tags_changed", "conversation.assigned",
               "conversation.owner_changed")
# The history a trigger's occurrences are found in.
TRIGGER_TYPES: dict[RuleTrigger, tuple[str, ...]] = {
    T.CONVERSATION_OPENED: ("conversation.opened",),
    T.CUSTOMER_MESSAGE: ("message.posted",), T.EMAIL_RECEIVED: ("message.posted",),
    T.STATUS_CHANGED: ("conversation.status_changed",),
    T.PRIORITY_CHANGED: ("conversation.priority_changed",),
    T.ASSIGNED: ("conversation.assigned",), T.PENDING_FOR: ("conversation.status_changed",),
    T.UNASSIGNED_FOR: ASSIGNMENT_TYPES, T.NO_AGENT_REPLY: ("message.posted",),
}
WORKING = (ConversationStatus.NEW.value, ConversationStatus.OPEN.value)


@dataclass(frozen=True)
class Match:
    conversation_id: int
    subject: str
    at: datetime  # when the rule would have fired
    occurrence: str


@dataclass(frozen=True)
class DryRun:
    since: datetime
    until: datetime
    matches: list[Match]  # the latest first, at most MAX_SHOWN
    total: int  # matches found, shown or not
    scanned: int  # conversations replayed
    truncated: bool  # more conversations had history than were replayed


@dataclass(frozen=True)
class State:
    """The fields of a conversation the history records changes of."""

    status: str
    priority: str
    tags: frozenset[str]
    owner: str
    assignee_id: int | None
    queue_id: int | None

    def forward(self, event: TimelineEvent) -> State:
        """The state after ``event``."""
        return _changed(self, event, after=True)

    def backward(self, event: TimelineEvent) -> State:
        """The state before ``event``."""
        return _changed(self, event, after=False)


def _changed(state: State, event: TimelineEvent, *, after: bool) -> State:
    p, side = event.payload, "to" if after else "from"
    if event.type == "conversation.status_changed":
        return replace(state, status=p[side])
    if event.type == "conversation.priority_changed":
        return replace(state, priority=p[side])
    if event.type == "conversation.owner_changed":
        return replace(state, owner=p[side])
    if event.type == "conversation.tags_changed":
        gone, came = (p["removed"], p["added"]) if after else (p["added"], p["removed"])
        return replace(state, tags=(state.tags - set(gone)) | set(came))
    if event.type == "conversation.assigned":
        if after:
            return replace(state, assignee_id=p["assignee_id"], queue_id=p["queue_id"])
        return replace(state, assignee_id=p["previous_assignee_id"],
                       queue_id=p.get("previous_queue_id", state.queue_id))
    return state


def dry_run(session: Session, trigger: RuleTrigger, delay_minutes: int | None,
            conditions: Group, now: datetime) -> DryRun:
    """What the rule would have fired on between ``now - WINDOW`` and ``now``."""
    since = now - WINDOW
    scan_from = since - timedelta(minutes=delay_minutes or 0)
    ids = _active_conversations(session, TRIGGER_TYPES[trigger], scan_from)
    replayer = _Replayer(session, trigger, timedelta(minutes=delay_minutes or 0), conditions,
                         since, now)
    found = [m for c, rows in _histories(session, ids[:MAX_CONVERSATIONS], scan_from)
             for m in replayer.matches(c, rows)]
    found.sort(key=lambda m: m.at, reverse=True)
    return DryRun(since, now, found[:MAX_SHOWN], len(found),
                  min(len(ids), MAX_CONVERSATIONS), len(ids) > MAX_CONVERSATIONS)


def _active_conversations(session: Session, types: tuple[str, ...],
                          scan_from: datetime) -> list[int]:
    """The conversations with history of these types since ``scan_from``, latest first."""
    last = func.max(TimelineEvent.occurred_at)
    return list(session.scalars(
        select(TimelineEvent.conversation_id)
        .where(TimelineEvent.type.in_(types), TimelineEvent.occurred_at >= scan_from,
               TimelineEvent.conversation_id.is_not(None))
        .group_by(TimelineEvent.conversation_id).order_by(last.desc())
        .limit(MAX_CONVERSATIONS + 1)))


def _histories(session: Session, ids: list[int], scan_from: datetime,
               ) -> Iterator[tuple[Conversation, list[TimelineEvent]]]:
    """Each conversation with its history since ``scan_from``, oldest first."""
    conversations = {c.id: c for c in session.scalars(
        select(Conversation).where(Conversation.id.in_(ids)).options(
            selectinload(Conversation.tag_rows),
            selectinload(Conversation.customer).selectinload(Customer.identities)))}
    rows = session.scalars(
        select(TimelineEvent).where(TimelineEvent.conversation_id.in_(ids),
                                    TimelineEvent.occurred_at >= scan_from)
        .order_by(TimelineEvent.conversation_id, TimelineEvent.occurred_at, TimelineEvent.id))
    for conversation_id, history in groupby(rows, key=lambda r: r.conversation_id):
        yield conversations[conversation_id], list(history)


@dataclass
class _Episode:
    """A timed trigger's state, from ``started`` on (``key``: its occurrence)."""

    key: str
    started: datetime
    done: bool = False  # the rule fired on it (or would have)


@dataclass
class _Replayer:
    session: Session
    trigger: RuleTrigger
    delay: timedelta
    conditions: Group
    since: datetime
    until: datetime

    def matches(self, conversation: Conversation, history: list[TimelineEvent]) -> list[Match]:
        """Replay one conversation's history; the moments the rule would have fired."""
        state = _state_now(conversation)
        for event in reversed(history):
            state = state.backward(event)
        if self.trigger.timed:
            return list(self._timed(conversation, state, history))
        return list(self._evented(conversation, state, history))

    def _evented(self, conversation: Conversation, state: State,
                 history: list[TimelineEvent]) -> Iterable[Match]:
        for event in history:
            state = state.forward(event)
            if (event.occurred_at >= self.since and self.trigger in triggers.triggered(
                    event.type, event.channel, event.payload)
                    and self._holds(conversation, state, event.occurred_at,
                                    event.payload.get("message_id"))):
                key = triggers.occurrence_key(event.type, event.payload, event.occurred_at)
                yield Match(conversation.id, conversation.subject, event.occurred_at, key)

    def _timed(self, conversation: Conversation, state: State,
               history: list[TimelineEvent]) -> Iterable[Match]:
        episode: _Episode | None = None
        last = history[0].occurred_at if history else self.until
        for event in [*history, None]:
            until = event.occurred_at if event is not None else self.until
            found = self._due(conversation, state, episode, last, until)
            if found is not None:
                yield found
            if event is not None:
                state = state.forward(event)
                episode = _next_episode(self.trigger, episode, event, state)
                last = event.occurred_at

    def _due(self, conversation: Conversation, state: State, episode: _Episode | None,
             last: datetime, until: datetime) -> Match | None:
        """Whether the episode fires during [last, until], the state being ``state``."""
        if episode is None or episode.done or episode.started + self.delay > until:
            return None
        moment = max(episode.started + self.delay, last)
        if not (_lasting(self.trigger, state) and self._holds(conversation, state, moment)):
            return None
        episode.done = True
        if moment < self.since:
            return None  # fired before the window
        return Match(conversation.id, conversation.subject, moment, episode.key)

    def _holds(self, conversation: Conversation, state: State, moment: datetime,
               message_id: int | None = None) -> bool:
        body = self._body(conversation.id, message_id, moment) \
            if Field.BODY in self.conditions.fields else ""
        return self.conditions.holds(_facts(conversation, state, body))

    def _body(self, conversation_id: int, message_id: int | None, moment: datetime) -> str:
        query = select(Message.id, Message.body).where(
            Message.conversation_id == conversation_id)
        if message_id is not None:
            query = query.where(Message.id == message_id)
        else:
            query = query.where(Message.author_kind == AuthorKind.CUSTOMER,
                                Message.internal.is_(False), Message.created_at <= moment
                                ).order_by(Message.seq.desc())
        row = self.session.execute(query.limit(1)).first()
        return row.body if row else ""


def _next_episode(trigger: RuleTrigger, episode: _Episode | None, event: TimelineEvent,
                  state: State) -> _Episode | None:
    """The timed state after ``event`` (the rules of helpdesk.automation.timed)."""
    key = f"{trigger.value}:{event.id}"
    if trigger == T.PENDING_FOR and event.type == "conversation.status_changed":
        return _Episode(key, event.occurred_at) if state.status == "pending" else None
    if trigger == T.UNASSIGNED_FOR and event.type in ASSIGNMENT_TYPES:
        return _Episode(key, event.occurred_at) if _lasting(trigger, state) else None
    if trigger == T.NO_AGENT_REPLY and event.type == "message.posted" \
            and not event.payload["internal"]:
        if event.payload["author_kind"] == AuthorKind.AGENT:
            return None
        if event.payload["author_kind"] == AuthorKind.CUSTOMER and episode is None:
            return _Episode(f"{trigger.value}:{event.payload['message_id']}", event.occurred_at)
    return episode


def _lasting(trigger: RuleTrigger, state: State) -> bool:
    """Whether the timed trigger's state holds (besides its episode having begun)."""
    if trigger == T.PENDING_FOR:
        return state.status == ConversationStatus.PENDING
    if trigger == T.UNASSIGNED_FOR:
        return (state.status in WORKING and state.assignee_id is None
                and state.owner == Owner.QUEUE)
    return state.status in WORKING and state.owner != Owner.BOT


def _state_now(conversation: Conversation) -> State:
    return State(conversation.status.value, conversation.priority.value,
                 frozenset(conversation.tags), conversation.owner.value,
                 conversation.assignee_id, conversation.queue_id)


def _facts(conversation: Conversation, state: State, body: str) -> Facts:
    customer = conversation.customer
    return Facts(channel=conversation.channel.value, subject=conversation.subject, body=body,
                 status=state.status, priority=state.priority, queue_id=state.queue_id,
                 tags=state.tags, customer_emails=tuple(customer.identity_values(
                     IdentityKind.EMAIL)), language=customer.language)
