"""Privacy: customers' data requests (export, erasure) and the retention settings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.models.types import enum_type
from helpdesk.orm import Base, utcnow


class DataRequestKind(StrEnum):
    EXPORT = "export"
    ERASURE = "erasure"


class DataRequestState(StrEnum):
    PENDING = "pending"  # stored, waiting for the worker
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # ``error`` says why
    EXPIRED = "expired"  # an export whose archive was deleted (too old, or the customer erased)


class DataRequest(Base):
    """One export or erasure of a customer's data, asked for by a staff member."""

    __tablename__ = "data_requests"
    __table_args__ = (Index("ix_data_requests_state_kind", "state", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DataRequestKind] = mapped_column(enum_type(DataRequestKind))
    state: Mapped[DataRequestState] = mapped_column(
        enum_type(DataRequestState), default=DataRequestState.PENDING)
    # No foreign key: the record of an erasure must outlive whatever it erased.
    customer_id: Mapped[int] = mapped_column(index=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    # Rows per table: exported, or erased. Counts only, never personal data.
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    archive_name: Mapped[str | None] = mapped_column(String(200))  # in <instance>/exports
    archive_size: Mapped[int | None]
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class RetentionSetting(Base):
    """How many days one kind of data is kept (see helpdesk.privacy.retention.RULES);
    no row, or no days: kept for ever."""

    __tablename__ = "retention_settings"

    rule: Mapped[str] = mapped_column(String(32), primary_key=True)
    days: Mapped[int | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
