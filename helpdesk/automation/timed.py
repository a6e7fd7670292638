"""Time rules: the worker looks for conversations whose state has lasted a rule's delay.

Each state starts at a moment the records tell (the same moments the dry run replays):

- ``pending_for``: pending since its last status change (key: that history event);
- ``unassigned_for``: new or open, with its queue and no agent, since its last change of
  status, assignment or owner (key: that history event);
- ``no_agent_reply``: new or open, not with the assistant, since the customer's first
  public message after the last public agent reply (key: that message).

A state that lasts fires the rule once (the run's key); a new state (pending again later, a
new unanswered message) is a new occurrence. Conditions are checked at each look, so a
rule whose conditions become true while the state lasts fires then.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, exists, func, literal, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement, Select

from helpdesk.automation import engine
from helpdesk.automation.engine import Occurrence
from helpdesk.models import (
    AuthorKind,
    Conversation,
    ConversationStatus,
    Message,
    Owner,
    Rule,
    RuleRun,
    RuleTrigger,
    TimelineEvent,
)
from helpdesk.uow import UnitOfWork

EVERY = 60.0  # seconds between two looks by the worker
WORKING = (ConversationStatus.NEW, ConversationStatus.OPEN)
# The history events that start each timed state.
STATUS_TYPES = ("conversation.status_changed",)
ASSIGNMENT_TYPES = ("conversation.opened", "conversation.status_changed",
                    "conversation.assigned", "conversation.owner_changed")


def run_due(uow_factory: Callable[[], UnitOfWork], now: datetime) -> int:
    """Fire the active time rules on the conversations that are due; how many runs applied."""
    with uow_factory() as uow:
        rules = list(uow.session.execute(
            select(Rule.id, Rule.trigger, Rule.delay_minutes)
            .where(Rule.active, Rule.trigger.in_([t for t in RuleTrigger if t.timed]))
            .order_by(Rule.position, Rule.id)))
    fired = 0
    for rule_id, trigger, delay in rules:
        with uow_factory() as uow:
            due = due_occurrences(uow.session, rule_id, trigger,
                                  now - timedelta(minutes=delay or 0))
        fired += sum(engine.run_rule(uow_factory, rule_id, o) is not None for o in due)
    return fired


def due_occurrences(session: Session, rule_id: int, trigger: RuleTrigger,
                    started_by: datetime) -> list[Occurrence]:
    """The occurrences of a timed trigger whose state started at or before ``started_by``
    and that the rule has not run for."""
    query = QUERIES[trigger](started_by)
    key = literal(f"{trigger.value}:", String) + cast(query.selected_columns[1], String)
    ran = exists().where(RuleRun.rule_id == rule_id,
                         RuleRun.conversation_id == query.selected_columns[0],
                         RuleRun.occurrence == key)
    rows = session.execute(query.where(~ran).order_by(query.selected_columns[0]))
    return [Occurrence(trigger, conversation_id, f"{trigger.value}:{ident}")
            for conversation_id, ident in rows]


def _last_event(types: tuple[str, ...]) -> ColumnElement[int]:
    """The id of the conversation's latest history event of these types."""
    earlier = aliased(TimelineEvent)
    return (select(func.max(earlier.id))
            .where(earlier.conversation_id == Conversation.id, earlier.type.in_(types))
            .scalar_subquery())


def _pending(started_by: datetime) -> Select:
    return (select(Conversation.id, TimelineEvent.id)
            .join(TimelineEvent, TimelineEvent.id == _last_event(STATUS_TYPES))
            .where(Conversation.status == ConversationStatus.PENDING,
                   TimelineEvent.occurred_at <= started_by))


def _unassigned(started_by: datetime) -> Select:
    return (select(Conversation.id, TimelineEvent.id)
            .join(TimelineEvent, TimelineEvent.id == _last_event(ASSIGNMENT_TYPES))
            .where(Conversation.status.in_(WORKING), Conversation.assignee_id.is_(None),
                   Conversation.owner == Owner.QUEUE, TimelineEvent.occurred_at <= started_by))


def _public(author: AuthorKind, message: type[Message]) -> ColumnElement[bool]:
    return and_(message.conversation_id == Conversation.id, message.author_kind == author,
                message.internal.is_(False))


def _unanswered(started_by: datetime) -> Select:
    reply, asked = aliased(Message), aliased(Message)
    last_reply = select(func.coalesce(func.max(reply.seq), 0)).where(
        _public(AuthorKind.AGENT, reply)).scalar_subquery()
    first_unanswered = select(func.min(asked.seq)).where(
        _public(AuthorKind.CUSTOMER, asked), asked.seq > last_reply).scalar_subquery()
    return (select(Conversation.id, Message.id)
            .join(Message, and_(Message.conversation_id == Conversation.id,
                                Message.seq == first_unanswered))
            .where(Conversation.status.in_(WORKING), Conversation.owner != Owner.BOT,
                   Message.created_at <= started_by))


QUERIES: dict[RuleTrigger, Callable[[datetime], Select]] = {
    RuleTrigger.PENDING_FOR: _pending, RuleTrigger.UNASSIGNED_FOR: _unassigned,
    RuleTrigger.NO_AGENT_REPLY: _unanswered,
}
