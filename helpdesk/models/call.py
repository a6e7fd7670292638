"""The Call aggregate: one phone call, its CTI events as received, its derived state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.models.customer import Customer
from helpdesk.models.queue import Queue
from helpdesk.models.staff import User
from helpdesk.models.types import enum_type
from helpdesk.orm import Base, utcnow


class CallEventKind(StrEnum):
    """What a PBX reports. Declared in the order of a call's life: events with the same
    timestamp are folded in this order."""

    QUEUED = "queued"
    RINGING = "ringing"
    ANSWERED = "answered"
    TRANSFERRED = "transferred"
    VOICEMAIL = "voicemail"
    MISSED = "missed"
    ENDED = "ended"


class CallStatus(StrEnum):
    QUEUED = "queued"  # waiting in a queue, ringing nobody
    RINGING = "ringing"  # ringing an agent's phone
    IN_PROGRESS = "in_progress"  # answered, still talking
    COMPLETED = "completed"  # answered, then hung up
    MISSED = "missed"  # the caller hung up before anyone answered
    VOICEMAIL = "voicemail"  # nobody answered; the caller was sent to voicemail


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_queue_status", "queue_id", "status"),
        Index("ix_calls_queue_ended", "queue_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)  # the PBX's call_id
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True)
    # True when the call opened its conversation (then the call's course drives it);
    # False when attached to a conversation an agent picked.
    owns_conversation: Mapped[bool] = mapped_column(default=False)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    caller: Mapped[str] = mapped_column(String(32), default="")  # empty: number withheld
    called: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[CallStatus] = mapped_column(enum_type(CallStatus))
    started_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    wait_seconds: Mapped[int | None]
    talk_seconds: Mapped[int | None]
    recording_url: Mapped[str] = mapped_column(String(2000), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    queue: Mapped[Queue | None] = relationship()
    agent: Mapped[User | None] = relationship()
    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CallEvent.id")


class CallEvent(Base):
    """One CTI event as received: stored once per ``(call, key)``, with the answer given."""

    __tablename__ = "call_events"
    __table_args__ = (UniqueConstraint("call_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    kind: Mapped[CallEventKind] = mapped_column(enum_type(CallEventKind))
    # What makes a retry a duplicate: the kind (a transfer can happen several times in a
    # call, so its key adds its timestamp).
    key: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recording_url: Mapped[str] = mapped_column(String(2000), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the body as received
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the answer given
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="events")
