"""Service levels: business-hours calendars, SLA policies, each conversation's clocks and the
breaches recorded for reports.

A queue points at its policy (``Queue.sla_policy_id``) and may override the policy's
calendar with its own business hours (``Queue.business_hours_id``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.models.conversation import Priority
from helpdesk.models.types import enum_type
from helpdesk.orm import Base, utcnow
from helpdesk.sla_clock import WEEKDAYS, BusinessHours, parse_periods


class SlaMetric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class SlaAction(StrEnum):
    """What a warning or a breach sets off."""

    NOTIFY = "notify"  # the assignee and the queue's supervisors
    RAISE_PRIORITY = "raise_priority"  # one step, up to urgent
    MOVE_QUEUE = "move_queue"  # to the policy's escalation queue, unassigned


class BusinessCalendar(Base):
    """Opening hours per weekday (``hours``: ``{"mon": ["09:00-12:30", ...], ...}``) in an
    IANA time zone, and the days closed."""

    __tablename__ = "business_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)  # clocks recompute after it

    holidays: Mapped[list[Holiday]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan", order_by="Holiday.day")

    def business_hours(self) -> BusinessHours:
        """The calendar as the clocks count it (its hours were checked when saved)."""
        week = tuple(parse_periods(", ".join(self.hours.get(day, []))) for day in WEEKDAYS)
        return BusinessHours(ZoneInfo(self.timezone), week,
                             frozenset(h.day for h in self.holidays))


class Holiday(Base):
    __tablename__ = "calendar_holidays"
    __table_args__ = (UniqueConstraint("calendar_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="CASCADE"))
    day: Mapped[date]
    name: Mapped[str] = mapped_column(String(200), default="")

    calendar: Mapped[BusinessCalendar] = relationship(back_populates="holidays")


class SlaPolicy(Base):
    """Targets per priority; without a calendar the clocks count wall-clock time."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("business_calendars.id"))
    pause_statuses: Mapped[list[str]] = mapped_column(default=list)  # pending, on_hold
    warning_minutes: Mapped[int] = mapped_column(default=0)  # 0: no warning
    warning_actions: Mapped[list[str]] = mapped_column(default=list)
    breach_actions: Mapped[list[str]] = mapped_column(default=list)
    escalation_queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("queues.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)  # clocks recompute after it

    calendar: Mapped[BusinessCalendar | None] = relationship()
    targets: Mapped[list[SlaTarget]] = relationship(
        cascade="all, delete-orphan", order_by="SlaTarget.priority")

    def target_for(self, priority: Priority) -> SlaTarget | None:
        return next((t for t in self.targets if t.priority == priority), None)


class SlaTarget(Base):
    """A priority's targets in minutes (of business time when the policy has a calendar)."""

    __tablename__ = "sla_targets"

    policy_id: Mapped[int] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="CASCADE"), primary_key=True)
    priority: Mapped[Priority] = mapped_column(enum_type(Priority), primary_key=True)
    first_response_minutes: Mapped[int | None]
    next_response_minutes: Mapped[int | None]
    resolution_minutes: Mapped[int | None]

    def minutes(self, metric: SlaMetric) -> int | None:
        return getattr(self, f"{metric.value}_minutes")


class ConversationSla(Base):
    """The policy, calendar and priority a conversation's clocks were computed with."""

    __tablename__ = "conversation_slas"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("sla_policies.id", ondelete="CASCADE"),
                                           index=True)
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="SET NULL"))
    priority: Mapped[Priority] = mapped_column(enum_type(Priority))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    policy: Mapped[SlaPolicy] = relationship()
    deadlines: Mapped[list[SlaDeadline]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="SlaDeadline.id")

    def deadline(self, metric: SlaMetric) -> SlaDeadline | None:
        return next((d for d in self.deadlines if d.metric == metric), None)


class SlaDeadline(Base):
    """One metric's clock. ``due_at`` and ``warn_at`` are empty while paused (the time
    left is kept in ``remaining_seconds``) and once met; ``warned_at``/``breached_at`` make
    each alert fire once per cycle (``started_at``)."""

    __tablename__ = "sla_deadlines"
    __table_args__ = (UniqueConstraint("conversation_id", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation_slas.conversation_id", ondelete="CASCADE"))
    metric: Mapped[SlaMetric] = mapped_column(enum_type(SlaMetric))
    started_at: Mapped[datetime]
    target_minutes: Mapped[int]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    warn_at: Mapped[datetime | None] = mapped_column(index=True)
    remaining_seconds: Mapped[int | None]
    met_at: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]


class SlaBreach(Base):
    """A target missed, for reports: where the conversation was and how urgent, then."""

    __tablename__ = "sla_breaches"
    __table_args__ = (UniqueConstraint("conversation_id", "metric", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    metric: Mapped[SlaMetric] = mapped_column(enum_type(SlaMetric))
    due_at: Mapped[datetime]
    breached_at: Mapped[datetime] = mapped_column(index=True)  # when Comptoir saw it
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="SET NULL"))
    priority: Mapped[Priority] = mapped_column(enum_type(Priority))
