"""Queues and their members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from helpdesk import events
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import Channel, Queue, QueueMembership, RoutingStrategy, User
from helpdesk.services.common import checked_enum, get_or_404
from helpdesk.uow import UnitOfWork

QUEUE_FIELDS = ("name", "description", "channels", "routing_strategy",
                "business_hours_id", "sla_policy_id")


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
    for key, value in fields.items():
        setattr(queue, key, value.strip() if key == "name" else value)


def _checked_channels(channels: list[str]) -> list[str]:
    known = {c.value for c in Channel}
    unknown = [c for c in channels if c not in known]
    if unknown:
        raise ValidationFailed(f"unknown channel {unknown[0]!r}; one of {', '.join(sorted(known))}",
                               field="channels")
    return sorted(set(channels))


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
