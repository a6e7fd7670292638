"""Who should get a waiting conversation: capacity, the strategies' rankings, and the
explanation the conversation's timeline keeps. No database here (services/routing.py
reads the agents and the queue, locks rows and assigns).

- ``round_robin``: the agent with room whom this queue served longest ago;
- ``least_loaded``: the fewest open items, each weighted by its channel (a chat counts
  more than an email), then the longest since this queue served them;
- ``skills``: the most of the conversation's required skills first, then as least_loaded.
  Skills rank, they do not exclude: a queue is the hard boundary of who may answer.

Nobody gets more open items of a channel than their capacity for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from helpdesk.models import RoutingStrategy

# When an agent's capacity does not name a channel (0 means: none of that channel).
DEFAULT_CAPACITY = {"chat": 3, "phone": 1, "email": 20, "web_form": 20, "api": 20}
# The weight of one open item in least_loaded's load, when the queue does not set it.
DEFAULT_WEIGHTS = {"chat": 1.0, "phone": 1.0, "email": 0.2, "web_form": 0.2, "api": 0.2}
NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass
class Agent:
    """An online agent as routing sees them (shared by the queues they work)."""

    user_id: int
    skills: frozenset[str]
    capacity: dict[str, int]  # as set on the user; a missing channel takes the default
    load: dict[str, int] = field(default_factory=dict)  # open items per channel
    online: bool = True  # False once seen offline, away or deactivated: no room then

    def limit(self, channel: str) -> int:
        return int(self.capacity.get(channel, DEFAULT_CAPACITY.get(channel, 0)))

    def room(self, channel: str) -> int:
        if not self.online:
            return 0
        return self.limit(channel) - self.load.get(channel, 0)

    def weighted_load(self, weights: dict[str, float]) -> float:
        return sum(count * weight(weights, channel) for channel, count in self.load.items())


@dataclass
class Member:
    """An online agent in one queue, with when this queue last gave them an item."""

    agent: Agent
    last_routed_at: datetime | None = None


@dataclass
class QueueRules:
    """One queue as routing sees it: strategy, weights, its members and the online ones."""

    queue_id: int
    strategy: RoutingStrategy
    weights: dict[str, float]
    members: int  # active members who work conversations, online or not
    online: list[Member]


@dataclass(frozen=True)
class Item:
    """What routing needs of a waiting conversation."""

    conversation_id: int
    channel: str
    required_skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class Choice:
    """The member to give the item to (None: nobody) and the timeline's explanation."""

    member: Member | None
    why: dict[str, Any]


def weight(weights: dict[str, float], channel: str) -> float:
    return float(weights.get(channel, DEFAULT_WEIGHTS.get(channel, 1.0)))


def normalized_skills(skills: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Trimmed, lower-cased, without duplicates or blanks, sorted."""
    return tuple(sorted({s.strip().lower() for s in skills if s.strip()}))


def choose(queue: QueueRules, item: Item) -> Choice:
    """The best member with room for the item's channel by the queue's strategy."""
    with_room = [m for m in queue.online if m.agent.room(item.channel) > 0]
    if not with_room:
        return Choice(None, why_waiting(queue, item))
    best = min(with_room, key=ranking(queue, item))
    return Choice(best, why_assigned(queue, item, best, len(with_room)))


def ranking(queue: QueueRules, item: Item) -> Callable[[Member], tuple[Any, ...]]:
    """The sort key of the queue's strategy: the smallest key gets the item."""
    def turn(member: Member) -> tuple[Any, ...]:
        return member.last_routed_at or NEVER, member.agent.user_id

    def load(member: Member) -> tuple[Any, ...]:
        return (member.agent.weighted_load(queue.weights), *turn(member))

    def skills(member: Member) -> tuple[Any, ...]:
        return (-len(matched(member.agent, item)), *load(member))

    strategies = {RoutingStrategy.ROUND_ROBIN: turn, RoutingStrategy.LEAST_LOADED: load,
                  RoutingStrategy.SKILLS: skills}
    if queue.strategy not in strategies:
        raise ValueError(f"queue {queue.queue_id} routes {queue.strategy.value}: no ranking")
    return strategies[queue.strategy]


def matched(agent: Agent, item: Item) -> list[str]:
    return [skill for skill in item.required_skills if skill in agent.skills]


def why_assigned(queue: QueueRules, item: Item, member: Member, with_room: int,
                 ) -> dict[str, Any]:
    """The explanation of an assignment: strategy, the agent's load against their capacity
    (before this item), the skills held, how many could have taken it."""
    agent = member.agent
    return {"strategy": queue.strategy.value, "queue_id": queue.queue_id,
            "assignee_id": agent.user_id, "channel": item.channel,
            "load": agent.load.get(item.channel, 0), "capacity": agent.limit(item.channel),
            "weighted_load": round(agent.weighted_load(queue.weights), 2),
            "skills_required": list(item.required_skills),
            "skills_matched": matched(agent, item),
            "online": len(queue.online), "with_room": with_room}


def why_waiting(queue: QueueRules, item: Item) -> dict[str, Any]:
    """Why nobody got it: the queue has no members, none is online, or all are full."""
    if not queue.members:
        reason = "no_members"
    elif not queue.online:
        reason = "nobody_online"
    else:
        reason = "all_at_capacity"
    return {"strategy": queue.strategy.value, "queue_id": queue.queue_id, "reason": reason,
            "channel": item.channel, "members": queue.members, "online": len(queue.online)}
