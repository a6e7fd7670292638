"""Macros (canned responses): a text with placeholders and the changes applied with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.orm import Base, utcnow


class Macro(Base):
    """Shared when ``owner_id`` is empty (supervisors and admins manage it), else personal.

    ``actions`` holds what applying it changes on the conversation: ``status``,
    ``priority``, ``add_tags``, ``remove_tags`` (each optional).
    """

    __tablename__ = "macros"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def shared(self) -> bool:
        return self.owner_id is None
