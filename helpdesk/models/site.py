"""A website that embeds the chat widget: its public key, its secret, its chat settings."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.models.queue import Queue
from helpdesk.orm import Base, utcnow

PRECHAT_FIELDS = ("name", "email")


def new_site_key() -> str:
    return "site_" + secrets.token_urlsafe(12)


def new_site_secret() -> str:
    return secrets.token_hex(32)


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Public: it is in the page's snippet. The secret signs user ids (identity verification).
    key: Mapped[str] = mapped_column(String(64), unique=True, default=new_site_key)
    secret: Mapped[str] = mapped_column(String(128), default=new_site_secret)
    name: Mapped[str] = mapped_column(String(200))
    # Page origins allowed to open the chat ("https://shop.example"); empty: any origin.
    allowed_origins: Mapped[list[str]] = mapped_column(default=list)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(16), default="en")
    prechat: Mapped[list[str]] = mapped_column(default=list)  # of PRECHAT_FIELDS
    bot_enabled: Mapped[bool] = mapped_column(default=True)
    # Per-site overrides of the assistant's shipped thresholds (bot_* settings).
    bot_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    queue: Mapped[Queue | None] = relationship()
