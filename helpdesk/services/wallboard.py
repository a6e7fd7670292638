"""The wallboard: per queue, who waits and for how long, the agents, today's service level.

The figures of other parts are theirs: what "waiting" means and the agents' status from
routing, answers within SLA and the queue's time zone from sla, calls on hold and
abandoned from calls. This module only gathers them per queue (docs/wallboard.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.models import Conversation, Queue
from helpdesk.services import calls, routing, sla


@dataclass(frozen=True)
class Waiting:
    """The contacts waiting in one queue: how many per channel, since when the oldest."""

    by_channel: dict[str, int]
    oldest_since: datetime | None


NOBODY_WAITS = Waiting({}, None)


@dataclass(frozen=True)
class QueueBoard:
    """One queue's tile on the wallboard."""

    queue_id: int
    name: str
    waiting: dict[str, int]  # channel -> contacts waiting for an agent (the queue's channels)
    oldest_waiting_since: datetime | None
    longest_wait_seconds: int
    agents: dict[str, int]  # online (with room for more), busy (at capacity), away, offline
    answered_today: int
    answered_within_sla: int
    abandoned_calls_today: int
    calls_waiting: int  # callers on hold in the telephony queue (not conversations yet)

    @property
    def waiting_total(self) -> int:
        return sum(self.waiting.values())

    @property
    def within_sla_percent(self) -> int | None:
        """The share of today's answers given within SLA, in %; None before the first."""
        if not self.answered_today:
            return None
        return round(100 * self.answered_within_sla / self.answered_today)


def snapshot(session: Session, now: datetime) -> list[QueueBoard]:
    """Every queue's board at ``now``, by queue name."""
    waiting = _waiting_by_queue(session)
    queues = session.scalars(select(Queue).order_by(Queue.name))
    return [_board(session, queue, waiting.get(queue.id, NOBODY_WAITS), now)
            for queue in queues]


def board(session: Session, now: datetime) -> dict[str, Any]:
    """The wallboard as the API answers it and Socket.IO pushes it."""
    return {"generated_at": now, "queues": snapshot(session, now)}


def _waiting_by_queue(session: Session) -> dict[int, Waiting]:
    """Each queue's contacts waiting for an agent, as routing sees them."""
    rows = session.execute(
        select(Conversation.queue_id, Conversation.channel, func.count(),
               func.min(Conversation.waiting_since))
        .where(routing.waiting_clause())
        .group_by(Conversation.queue_id, Conversation.channel))
    found: dict[int, Waiting] = {}
    for queue_id, channel, count, oldest in rows:
        known = found.get(queue_id, NOBODY_WAITS)
        found[queue_id] = Waiting({**known.by_channel, channel.value: count},
                                  min(filter(None, (known.oldest_since, oldest)), default=None))
    return found


def _board(session: Session, queue: Queue, waiting: Waiting, now: datetime) -> QueueBoard:
    met, answered = sla.within_sla_today(session, queue.id, now)
    return QueueBoard(
        queue_id=queue.id, name=queue.name,
        waiting={channel: waiting.by_channel.get(channel, 0)
                 for channel in [*queue.channels, *sorted(waiting.by_channel)]},
        oldest_waiting_since=waiting.oldest_since,
        longest_wait_seconds=_seconds_since(waiting.oldest_since, now),
        agents=routing.agents_status(session, queue.id),
        answered_today=answered, answered_within_sla=met,
        abandoned_calls_today=calls.abandoned_today(session, queue.id, now,
                                                    sla.queue_zone(session, queue.id)),
        calls_waiting=calls.waiting(session, queue.id))


def _seconds_since(moment: datetime | None, now: datetime) -> int:
    return max(0, int((now - moment).total_seconds())) if moment else 0
