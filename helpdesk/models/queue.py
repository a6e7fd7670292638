"""Queues: which channels they serve, how they route, who works them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.models.types import enum_type
from helpdesk.orm import Base, utcnow


class RoutingStrategy(StrEnum):
    MANUAL = "manual"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    SKILLS = "skills"


class Queue(Base):
    __tablename__ = "queues"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    channels: Mapped[list[str]] = mapped_column(default=list)
    routing_strategy: Mapped[RoutingStrategy] = mapped_column(
        enum_type(RoutingStrategy), default=RoutingStrategy.MANUAL)
    # Seams for the SLA issue: the policies and calendars arrive there.
    business_hours_id: Mapped[int | None]
    sla_policy_id: Mapped[int | None]
    # Routing: waiting conversations move to the overflow queue after this many seconds of
    # wait; least_loaded weighs an open item by its channel (missing: the default weight).
    overflow_queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("queues.id", ondelete="SET NULL"))
    overflow_after_seconds: Mapped[int | None]
    channel_weights: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[QueueMembership]] = relationship(
        back_populates="queue", cascade="all, delete-orphan")

    @property
    def member_ids(self) -> list[int]:
        return sorted(m.user_id for m in self.memberships)


class QueueMembership(Base):
    __tablename__ = "queue_memberships"

    queue_id: Mapped[int] = mapped_column(
        ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_routed_at: Mapped[datetime | None]  # round robin: who waited longest for an item

    queue: Mapped[Queue] = relationship(back_populates="memberships")
