"""Routing: waiting conversations go to agents by their queue's strategy (the rankings are in
helpdesk/routing_rules.py), never past an agent's capacity, priority first then longest
waiting; overflow to a fallback queue after a wait; an agent going offline gives back the
chats they have not answered. Every decision is written on the conversation's timeline
(``conversation.routed``) with why; a conversation nobody could take says why once per wait.

A conversation *waits* when it is in a queue, owned by the queue, assigned to nobody, and
new or open. Each decision is its own transaction, safe with several processes at once:

- PostgreSQL: the conversation is locked ``FOR UPDATE SKIP LOCKED`` and only while it still
  waits in that queue (one another process holds is skipped, not waited for); the chosen
  agent's row is then locked and their open items of the channel counted again before the
  assignment. So no conversation is assigned twice and nobody goes past capacity. A
  transaction waits for one agent lock at most, holding only a conversation lock that
  nobody waits for: routers cannot deadlock one another.
- SQLite: a no-op write first takes the database's single write lock, held to the commit.

The functions that route commit (one transaction per decision): call them with a unit of
work that holds nothing uncommitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, update
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.models import (
    Channel,
    Conversation,
    ConversationStatus,
    Owner,
    Presence,
    Priority,
    Queue,
    QueueMembership,
    Role,
    RoutingStrategy,
    User,
)
from helpdesk.orm import utcnow
from helpdesk.routing_rules import (
    Agent,
    Item,
    Member,
    QueueRules,
    choose,
    normalized_skills,
    why_assigned,
)
from helpdesk.services import conversations
from helpdesk.services.common import get_or_404, take_sqlite_write_lock
from helpdesk.uow import UnitOfWork

OPEN_STATUSES = (ConversationStatus.NEW, ConversationStatus.OPEN)
WORKING_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
PRIORITY_RANK = case({Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2,
                      Priority.LOW: 3}, value=Conversation.priority, else_=4)
MAX_SKILLS = 20
MAX_SKILL = 64


@dataclass(frozen=True)
class Waiting:
    """A waiting conversation as read before routing it (``noted``: the timeline already
    says why it waits)."""

    conversation_id: int
    queue_id: int
    item: Item
    noted: bool


def waiting_clause() -> ColumnElement[bool]:
    """SQL: the conversation waits for an agent in its queue."""
    return and_(Conversation.queue_id.is_not(None), Conversation.owner == Owner.QUEUE,
                Conversation.assignee_id.is_(None), Conversation.status.in_(OPEN_STATUSES))


def route(uow: UnitOfWork, conversation_id: int) -> int | None:
    """Give the conversation to the best agent of its queue now, if it waits: the agent's
    id, or None (not waiting, a manual queue, or nobody free: the timeline says why)."""
    return route_many(uow, [conversation_id]).get(conversation_id)


def route_many(uow: UnitOfWork, conversation_ids: list[int]) -> dict[int, int]:
    """``route`` for each of these conversations, priority first then longest waiting: the
    agent each one went to (those that did not stay waiting are left out)."""
    if not conversation_ids:
        return {}
    return _route_each(uow, _waiting(uow.session, Conversation.id.in_(conversation_ids)))


def route_queue(uow: UnitOfWork, queue_id: int) -> list[int]:
    """Route every conversation waiting in the queue; the ids of those assigned."""
    return route_queues(uow, [queue_id])


def route_queues(uow: UnitOfWork, queue_ids: list[int]) -> list[int]:
    """Route the conversations waiting in these queues, priority first then longest
    waiting (across the queues); the ids of those assigned."""
    if not queue_ids:
        return []
    found = _waiting(uow.session, Conversation.queue_id.in_(queue_ids))
    return list(_route_each(uow, found))


def route_for_agent(uow: UnitOfWork, user_id: int) -> list[int]:
    """The agent may have room again (online, an item solved or taken away): route the
    queues they work."""
    queue_ids = uow.session.scalars(
        select(QueueMembership.queue_id).where(QueueMembership.user_id == user_id))
    return route_queues(uow, list(queue_ids))


def route_all(uow: UnitOfWork) -> list[int]:
    """Route every queue that routes by itself (the worker's safety net)."""
    queue_ids = uow.session.scalars(
        select(Queue.id).where(Queue.routing_strategy != RoutingStrategy.MANUAL))
    return route_queues(uow, list(queue_ids))


def overflow_due(uow: UnitOfWork, now: datetime) -> list[int]:
    """Move the conversations that waited longer than their queue's overflow wait to its
    overflow queue; their ids. The wait counts from when the customer started waiting,
    so an overflow queue's own overflow wait counts from there too."""
    rules = uow.session.execute(
        select(Queue.id, Queue.overflow_queue_id, Queue.overflow_after_seconds).where(
            Queue.overflow_queue_id.is_not(None), Queue.overflow_after_seconds.is_not(None)))
    due = [(waiting, rule) for rule in rules.all() for waiting in _waiting(
        uow.session, Conversation.queue_id == rule.id,
        Conversation.waiting_since <= now - timedelta(seconds=rule.overflow_after_seconds))]
    uow.session.rollback()  # the reads end here: each move is its own transaction
    return [w.conversation_id for w, rule in due
            if _overflow(uow, w, rule.overflow_queue_id, rule.overflow_after_seconds, now)]


def release_unanswered_chats(uow: UnitOfWork, user_id: int) -> list[int]:
    """The agent went offline: the chats they have not answered yet go back to their queue,
    keeping their wait, for routing to give to someone else (in the caller's transaction,
    which must be a ``uow.one_transaction()``)."""
    chat_ids = list(uow.session.scalars(
        select(Conversation.id).where(
            Conversation.assignee_id == user_id, Conversation.channel == Channel.CHAT,
            Conversation.status.in_(OPEN_STATUSES), Conversation.first_response_at.is_(None),
            Conversation.queue_id.is_not(None)).order_by(Conversation.id)))
    for conversation_id in chat_ids:
        _release(uow, conversation_id, user_id)
    return chat_ids


def agent_load(session: Session, user_id: int) -> dict[str, int]:
    """The agent's open (new or open) conversations per channel."""
    return _loads(session, [user_id]).get(user_id, {})


def agents_status(session: Session, queue_id: int) -> dict[str, int]:
    """How many of the queue's members are online with room, busy (no room left on any of
    the queue's channels), away and offline."""
    queue = get_or_404(session, Queue, queue_id)
    members = session.execute(
        select(User.id, User.presence, User.capacity).join(QueueMembership)
        .where(QueueMembership.queue_id == queue_id, *_working())).all()
    loads = _loads(session, [m.id for m in members if m.presence == Presence.ONLINE])
    channels = queue.channels or [c.value for c in Channel]
    counts = dict.fromkeys(("online", "busy", "away", "offline"), 0)
    for member in members:
        agent = Agent(member.id, frozenset(), member.capacity, loads.get(member.id, {}))
        counts[_status(member.presence, agent, channels)] += 1
    return counts


def set_required_skills(uow: UnitOfWork, actor: Actor, conversation_id: int,
                        skills: list[str]) -> Conversation:
    """Replace the skills an agent needs for the conversation (lower-cased, e.g. ``fr``,
    ``billing``): skills routing gives it to the best match first."""
    conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
    wanted = list(_checked_skills(skills))
    if wanted != conversation.required_skills:
        conversation.required_skills = wanted
        uow.record(events.RequiredSkillsChanged(actor=actor, **conversation.event_fields(),
                                                skills=wanted))
    uow.commit()
    return conversation


# --- one decision ---------------------------------------------------------------------------


def _route_each(uow: UnitOfWork, found: list[Waiting]) -> dict[int, int]:
    """Route the conversations in order; {conversation id: agent id} of those assigned."""
    rules = _rules(uow.session, {w.queue_id for w in found})
    uow.session.rollback()  # the reads end here: each decision is its own transaction
    given = {}
    for waiting in found:
        queue = rules.get(waiting.queue_id)
        agent_id = _route_one(uow, queue, waiting) if queue is not None else None
        if agent_id is not None:
            given[waiting.conversation_id] = agent_id
    return given


def _route_one(uow: UnitOfWork, queue: QueueRules, waiting: Waiting) -> int | None:
    """Decide for one conversation; chosen again when the agent filled up meanwhile (each
    miss corrects what is known of one agent, so this ends)."""
    if waiting.noted and choose(queue, waiting.item).member is None:
        return None  # still nobody, and the timeline already says why
    for _attempt in range(len(queue.online) + 1):
        row = _lock_if_waiting(uow, waiting)
        if row is None:
            return None  # assigned, moved or being routed by another process meanwhile
        item = _item(row)
        choice = choose(queue, item)
        if choice.member is None:
            _note_waiting(uow, row, choice.why)
            return None
        if _give(uow, queue, row, item, choice.member, choice.why["with_room"]):
            return choice.member.agent.user_id
    return None


def _lock_if_waiting(uow: UnitOfWork, waiting: Waiting) -> Conversation | None:
    """Lock the conversation if it still waits in the same queue and nobody else holds it."""
    take_sqlite_write_lock(uow.session, Conversation, [waiting.conversation_id])
    row = uow.session.scalars(
        select(Conversation).where(Conversation.id == waiting.conversation_id,
                                   Conversation.queue_id == waiting.queue_id, waiting_clause())
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)).one_or_none()
    if row is None:
        uow.rollback()
    return row


def _give(uow: UnitOfWork, queue: QueueRules, row: Conversation, item: Item, member: Member,
          with_room: int) -> bool:
    """Assign under the agent's row lock if they are still online with room; False (and
    nothing done) when they are not, with what is known of them corrected."""
    agent = member.agent
    user, load = _lock_agent(uow.session, agent.user_id, item.channel)
    agent.online = user.active and user.presence == Presence.ONLINE
    agent.capacity, agent.load[item.channel] = dict(user.capacity), load
    if agent.room(item.channel) <= 0:
        uow.rollback()
        return False
    why = why_assigned(queue, item, member, with_room)
    now = utcnow()
    with uow.one_transaction():
        uow.record(events.ConversationRouted(actor=SYSTEM, **row.event_fields(),
                                             decision="assigned", why=why))
        conversations.assign(uow, SYSTEM, row.id, assignee_id=agent.user_id)
        uow.session.execute(update(QueueMembership).where(
            QueueMembership.queue_id == queue.queue_id,
            QueueMembership.user_id == agent.user_id).values(last_routed_at=now))
    agent.load[item.channel] = load + 1
    member.last_routed_at = now
    return True


def _lock_agent(session: Session, user_id: int, channel: str) -> tuple[User, int]:
    """The agent's row, locked to the commit, and their open items of the channel now."""
    user = session.scalars(
        select(User).where(User.id == user_id).with_for_update(key_share=True)
        .execution_options(populate_existing=True)).one()
    load = session.scalar(
        select(func.count()).select_from(Conversation).where(
            Conversation.assignee_id == user_id, Conversation.channel == channel,
            Conversation.status.in_(OPEN_STATUSES)))
    return user, load or 0


def _note_waiting(uow: UnitOfWork, row: Conversation, why: dict[str, Any]) -> None:
    """Say on the timeline why nobody took it, once per wait."""
    if row.routing_reason is not None:
        uow.rollback()
        return
    row.routing_reason = why["reason"]
    uow.record(events.ConversationRouted(actor=SYSTEM, **row.event_fields(), decision="waiting",
                                         why=why))
    uow.commit()


def _overflow(uow: UnitOfWork, waiting: Waiting, overflow_queue_id: int,
              overflow_after_seconds: int, now: datetime) -> bool:
    row = _lock_if_waiting(uow, waiting)
    if row is None or row.waiting_since is None:
        return False
    why = {"queue_id": waiting.queue_id, "overflow_queue_id": overflow_queue_id,
           "waited_seconds": int((now - row.waiting_since).total_seconds()),
           "overflow_after_seconds": overflow_after_seconds}
    with uow.one_transaction():
        uow.record(events.ConversationRouted(actor=SYSTEM, **row.event_fields(),
                                             decision="overflowed", why=why))
        conversations.assign(uow, SYSTEM, row.id, assignee_id=None, queue_id=overflow_queue_id)
        row.routing_reason = None  # the overflow queue says why it waits, if it does
    return True


def _release(uow: UnitOfWork, conversation_id: int, user_id: int) -> None:
    conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
    waited_since = conversation.waiting_since or conversation.created_at
    uow.record(events.ConversationRouted(
        actor=SYSTEM, **conversation.event_fields(), decision="released",
        why={"reason": "agent_offline", "agent_id": user_id,
             "queue_id": conversation.queue_id}))
    conversations.assign(uow, SYSTEM, conversation_id, assignee_id=None)
    conversation.waiting_since = waited_since  # the customer has waited since then


# --- reads ----------------------------------------------------------------------------------


def _waiting(session: Session, *conditions: ColumnElement[bool]) -> list[Waiting]:
    """The waiting conversations matching ``conditions``, priority first, then longest
    waiting."""
    rows = session.execute(
        select(Conversation.id, Conversation.queue_id, Conversation.channel,
               Conversation.required_skills, Conversation.routing_reason)
        .where(waiting_clause(), *conditions)
        .order_by(PRIORITY_RANK,
                  func.coalesce(Conversation.waiting_since, Conversation.created_at),
                  Conversation.id))
    return [Waiting(row.id, row.queue_id,
                    Item(row.id, row.channel.value, normalized_skills(row.required_skills)),
                    noted=row.routing_reason is not None)
            for row in rows]


def _rules(session: Session, queue_ids: set[int]) -> dict[int, QueueRules]:
    """The queues that route by themselves, with their members and the online ones'
    capacity and load (an agent in several queues is one ``Agent``, shared)."""
    queues = session.execute(
        select(Queue.id, Queue.routing_strategy, Queue.channel_weights).where(
            Queue.id.in_(queue_ids), Queue.routing_strategy != RoutingStrategy.MANUAL)).all()
    memberships = session.execute(
        select(QueueMembership.queue_id, QueueMembership.last_routed_at, User.id,
               User.presence, User.skills, User.capacity)
        .join(User, User.id == QueueMembership.user_id)
        .where(QueueMembership.queue_id.in_([q.id for q in queues]), *_working())).all()
    agents = _online_agents(session, memberships)
    return {q.id: QueueRules(
        q.id, q.routing_strategy, q.channel_weights,
        members=sum(m.queue_id == q.id for m in memberships),
        online=[Member(agents[m.id], m.last_routed_at) for m in memberships
                if m.queue_id == q.id and m.id in agents]) for q in queues}


def _online_agents(session: Session, memberships: list[Any]) -> dict[int, Agent]:
    online = {m.id: m for m in memberships if m.presence == Presence.ONLINE}
    loads = _loads(session, list(online))
    return {user_id: Agent(user_id, frozenset(normalized_skills(m.skills)), dict(m.capacity),
                           loads.get(user_id, {}))
            for user_id, m in online.items()}


def _loads(session: Session, user_ids: list[int]) -> dict[int, dict[str, int]]:
    """Open (new or open) conversations per agent and channel."""
    loads: dict[int, dict[str, int]] = {}
    if not user_ids:
        return loads
    rows = session.execute(
        select(Conversation.assignee_id, Conversation.channel, func.count())
        .where(Conversation.assignee_id.in_(user_ids), Conversation.status.in_(OPEN_STATUSES))
        .group_by(Conversation.assignee_id, Conversation.channel))
    for user_id, channel, count in rows:
        loads.setdefault(user_id, {})[channel.value] = count
    return loads


def _working() -> tuple[ColumnElement[bool], ...]:
    """SQL: the staff who work conversations (active agents, supervisors, admins)."""
    return User.active.is_(True), User.role.in_(WORKING_ROLES)


def _status(presence: Presence, agent: Agent, channels: list[str]) -> str:
    if presence != Presence.ONLINE:
        return presence.value
    return "online" if any(agent.room(channel) > 0 for channel in channels) else "busy"


def _item(row: Conversation) -> Item:
    return Item(row.id, row.channel.value, normalized_skills(row.required_skills))


def _checked_skills(skills: list[str]) -> tuple[str, ...]:
    if not isinstance(skills, list) or not all(isinstance(s, str) for s in skills):
        raise ValidationFailed("required_skills is a list of words", field="required_skills")
    wanted = normalized_skills(skills)
    if len(wanted) > MAX_SKILLS or any(len(s) > MAX_SKILL for s in wanted):
        raise ValidationFailed(f"at most {MAX_SKILLS} required skills of at most {MAX_SKILL} "
                               "characters each", field="required_skills")
    return wanted

