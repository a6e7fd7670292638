"""Queues and their members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from helpdesk import events
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    BusinessCalendar,
    Channel,
    Queue,
    QueueMembership,
    RoutingStrategy,
    SlaPolicy,
    User,
)
from helpdesk.services.common import checked_enum, get_or_404
from helpdesk.uow import UnitOfWork

QUEUE_FIELDS = ("name", "description", "channels", "routing_strategy",
                "business_hours_id", "sla_policy_id", "overflow_queue_id",
                "overflow_after_seconds", "channel_weights")
MAX_OVERFLOW_WAIT = 7 * 24 * 3600
MAX_WEIGHT = 100.0


def create_queue(uow: UnitOfWork, actor: Actor, *, name: str, member_ids: list[int] = (),
                 **fields: Any) -> Queue:
    """Create a queue; its name is unique, its channels known ones."""
    queue = Queue(name="")
    _apply_fields(uow, queue, {"name": name, **fields})
    uow.session.add(queue)
    _set_members(uow, queue, member_ids)
    uow.session.flush()
    _audit(uow, actor, "queue.created", queue, {"name": queue.name})
    uow.commit()
    return queue


def update_queue(uow: UnitOfWork, actor: Actor, queue_id: int, *,
                 member_ids: list[int] | None = None, **fields: Any) -> Queue:
    queue = get_or_404(uow.session, Queue, queue_id)
    _apply_fields(uow, queue, fields)
    if member_ids is not None:
        _set_members(uow, queue, member_ids)
    details = {k: (v.value if hasattr(v, "value") else v) for k, v in fields.items()}
    _audit(uow, actor, "queue.updated", queue,
           details | ({"member_ids": sorted(member_ids)} if member_ids is not None else {}))
    uow.commit()
    return queue


def _apply_fields(uow: UnitOfWork, queue: Queue, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(QUEUE_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown queue field(s): {', '.join(sorted(unknown))}",
                               field=sorted(unknown)[0])
    if "name" in fields:
        _check_name(uow, queue, fields["name"])
    if "channels" in fields:
        fields["channels"] = _checked_channels(fields["channels"])
    if "routing_strategy" in fields:
        fields["routing_strategy"] = checked_enum(RoutingStrategy, fields["routing_strategy"],
                                                  "routing_strategy")
    if "overflow_queue_id" in fields:
        _check_overflow_queue(uow, queue, fields["overflow_queue_id"])
    if "overflow_after_seconds" in fields:
        _check_overflow_wait(fields["overflow_after_seconds"])
    if "channel_weights" in fields:
        fields["channel_weights"] = _checked_weights(fields["channel_weights"])
    for key, model in (("business_hours_id", BusinessCalendar), ("sla_policy_id", SlaPolicy)):
        if fields.get(key) is not None:
            get_or_404(uow.session, model, fields[key], field=key)
    for key, value in fields.items():
        setattr(queue, key, value.strip() if key == "name" else value)
    if (queue.overflow_queue_id is None) != (queue.overflow_after_seconds is None):
        field = "overflow_after_seconds" if queue.overflow_queue_id else "overflow_queue_id"
        raise ValidationFailed("overflow needs both a queue and a wait (or neither)", field=field)


def _checked_channels(channels: list[str], field: str = "channels") -> list[str]:
    known = {c.value for c in Channel}
    unknown = [c for c in channels if c not in known]
    if unknown:
        raise ValidationFailed(f"unknown channel {unknown[0]!r}; one of {', '.join(sorted(known))}",
                               field=field)
    return sorted(set(channels))


def _check_overflow_queue(uow: UnitOfWork, queue: Queue, target_id: int | None) -> None:
    """The overflow queue exists and its own overflow chain does not lead back here."""
    seen = set()
    while target_id is not None and target_id not in seen:
        if target_id == queue.id:
            raise ValidationFailed("the overflow queues would go round in a circle",
                                   field="overflow_queue_id")
        seen.add(target_id)
        target_id = get_or_404(uow.session, Queue, target_id,
                               field="overflow_queue_id").overflow_queue_id


def _check_overflow_wait(seconds: object) -> None:
    if seconds is None:
        return
    if (not isinstance(seconds, int) or isinstance(seconds, bool)
            or not 1 <= seconds <= MAX_OVERFLOW_WAIT):
        raise ValidationFailed(f"overflow_after_seconds is a whole number of seconds from 1 "
                               f"to {MAX_OVERFLOW_WAIT}", field="overflow_after_seconds")


def _checked_weights(weights: object) -> dict[str, float]:
    """Channel -> weight of one open item in least_loaded's load (0 to MAX_WEIGHT)."""
    if not isinstance(weights, dict):
        raise ValidationFailed("channel_weights maps channels to numbers",
                               field="channel_weights")
    _checked_channels(list(weights), field="channel_weights")
    for channel, weight in weights.items():
        if (not isinstance(weight, int | float) or isinstance(weight, bool)
                or not 0 <= weight <= MAX_WEIGHT):
            raise ValidationFailed(f"the weight of {channel} is a number from 0 to "
                                   f"{MAX_WEIGHT:g}", field="channel_weights")
    return {channel: float(weight) for channel, weight in sorted(weights.items())}


def _check_name(uow: UnitOfWork, queue: Queue, name: str) -> None:
    name = name.strip()
    if not name:
        raise ValidationFailed("queue name must not be empty", field="name")
    clash = uow.session.scalar(select(Queue.id).where(Queue.name == name))
    if clash is not None and clash != queue.id:
        raise Conflict(f"a queue named {name!r} exists", field="name")


def _set_members(uow: UnitOfWork, queue: Queue, member_ids: list[int]) -> None:
    for user_id in member_ids:
        get_or_404(uow.session, User, user_id, field="member_ids")
    wanted = set(member_ids)
    queue.memberships = [m for m in queue.memberships if m.user_id in wanted]
    kept = {m.user_id for m in queue.memberships}
    queue.memberships.extend(QueueMembership(user_id=uid) for uid in sorted(wanted - kept))


def _audit(uow: UnitOfWork, actor: Actor, action: str, queue: Queue,
           details: dict[str, Any]) -> None:
    uow.record(events.StaffChanged(actor=actor, action=action, target_type="queue",
                                   target_id=queue.id, details=details))
