"""Automation rules (trigger + conditions → actions) and the record of their runs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.models.types import enum_type
from helpdesk.orm import Base, utcnow


class RuleTrigger(StrEnum):
    """What makes a rule look at a conversation: an event, or a state lasting too long."""

    CONVERSATION_OPENED = "conversation_opened"
    CUSTOMER_MESSAGE = "customer_message"
    EMAIL_RECEIVED = "email_received"
    STATUS_CHANGED = "status_changed"
    PRIORITY_CHANGED = "priority_changed"
    ASSIGNED = "assigned"
    PENDING_FOR = "pending_for"
    NO_AGENT_REPLY = "no_agent_reply"
    UNASSIGNED_FOR = "unassigned_for"

    @property
    def timed(self) -> bool:
        """True for the triggers the worker checks (they need ``delay_minutes``)."""
        return self in (RuleTrigger.PENDING_FOR, RuleTrigger.NO_AGENT_REPLY,
                        RuleTrigger.UNASSIGNED_FOR)


class RunOutcome(StrEnum):
    APPLIED = "applied"  # every action applied
    PARTIAL = "partial"  # some actions failed (``errors`` says which)
    FAILED = "failed"  # none applied


class Rule(Base):
    """``conditions``: ``{"all"|"any": [condition or group, ...]}``; ``actions``: a list of
    ``{"type": ..., ...}`` (helpdesk.automation documents both)."""

    __tablename__ = "automation_rules"
    __table_args__ = (Index("ix_automation_rules_trigger_active", "trigger", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    trigger: Mapped[RuleTrigger] = mapped_column(enum_type(RuleTrigger))
    delay_minutes: Mapped[int | None]  # timed triggers: how long the state must last
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)  # rules of a trigger run in this order
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RuleRun(Base):
    """A rule fired on a conversation for one occurrence of its trigger (at most once:
    the unique key makes a second worker's or a retry's attempt fail)."""

    __tablename__ = "automation_runs"
    __table_args__ = (UniqueConstraint("rule_id", "conversation_id", "occurrence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rules.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    occurrence: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[RunOutcome] = mapped_column(enum_type(RunOutcome))
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
