"""Saved views: a named set of inbox filters, personal or shared with every agent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.orm import Base, utcnow


class SavedView(Base):
    """Shared when ``owner_id`` is empty (supervisors and admins manage it), else personal.

    ``filters`` holds the filter set (see ``helpdesk.services.saved_views.ViewFilters``):
    ``statuses``, ``queue_id``, ``assignee`` ("me", "unassigned" or a user id), ``tag``,
    ``channel``, ``priority``, ``q``, ``sort`` and ``segment_id``, each optional.
    """

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def shared(self) -> bool:
        return self.owner_id is None
