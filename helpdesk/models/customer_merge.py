"""A record of one customer merged into another: exactly what moved, so it can be undone."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.models.types import enum_type
from helpdesk.orm import Base, utcnow

# Set in a column's ``info``: a reference to customers that a merge leaves where it is
# (every other one is moved from the source customer to the target).
KEPT_ON_MERGE = "kept_on_customer_merge"


class MergeReason(StrEnum):
    AGENT = "agent"  # a staff member chose it
    VERIFIED_IDENTITY = "verified_identity"  # one identity verified on both customers


class CustomerMerge(Base):
    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True,
        info={KEPT_ON_MERGE: True})
    target_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True,
        info={KEPT_ON_MERGE: True})
    reason: Mapped[MergeReason] = mapped_column(enum_type(MergeReason))
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The rows repointed from the source to the target, by "table.column": their ids.
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The target's profile values the source filled in (``fields``: their old values;
    # ``attributes``, ``consents``: the keys added), taken back on unmerge.
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    unmerged_at: Mapped[datetime | None]
    unmerged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def moved_counts(self) -> dict[str, int]:
        return {key: len(ids) for key, ids in self.moved.items()}
