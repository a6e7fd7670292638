"""Customer segments: saved filters over customers' attributes and behaviour."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.orm import Base, utcnow


class Segment(Base):
    """Shared when ``owner_id`` is empty (``segments:manage`` manages it), else personal.

    ``conditions`` holds the segment's conditions in the language of
    ``helpdesk.services.segments`` (checked when saved).
    """

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def shared(self) -> bool:
        return self.owner_id is None
