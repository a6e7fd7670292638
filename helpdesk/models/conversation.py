"""The Conversation aggregate (the ticket): its messages, attachments and tags."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.errors import InvalidTransition
from helpdesk.models.customer import Customer
from helpdesk.models.queue import Queue
from helpdesk.models.staff import User
from helpdesk.models.types import enum_type
from helpdesk.orm import Base, utcnow


class Channel(StrEnum):
    CHAT = "chat"
    EMAIL = "email"
    PHONE = "phone"
    WEB_FORM = "web_form"
    API = "api"


class ConversationStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Owner(StrEnum):
    BOT = "bot"
    QUEUE = "queue"
    AGENT = "agent"


class AuthorKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


_S = ConversationStatus
# A closed conversation is final: a customer writing again opens a follow-up.
ALLOWED_TRANSITIONS: dict[ConversationStatus, frozenset[ConversationStatus]] = {
    _S.NEW: frozenset({_S.OPEN, _S.PENDING, _S.ON_HOLD, _S.SOLVED, _S.CLOSED}),
    _S.OPEN: frozenset({_S.PENDING, _S.ON_HOLD, _S.SOLVED, _S.CLOSED}),
    _S.PENDING: frozenset({_S.OPEN, _S.ON_HOLD, _S.SOLVED, _S.CLOSED}),
    _S.ON_HOLD: frozenset({_S.OPEN, _S.PENDING, _S.SOLVED, _S.CLOSED}),
    _S.SOLVED: frozenset({_S.OPEN, _S.PENDING, _S.CLOSED}),
    _S.CLOSED: frozenset(),
}


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_queue_status", "queue_id", "status"),
        Index("ix_conversations_assignee_status", "assignee_id", "status"),
        # segments' last_csat: each customer's latest rated conversation, from the index
        Index("ix_conversations_customer_rated", "customer_id", "id", "csat_rating",
              sqlite_where=text("csat_rating IS NOT NULL"),
              postgresql_where=text("csat_rating IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    subject: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[ConversationStatus] = mapped_column(
        enum_type(ConversationStatus), default=ConversationStatus.NEW)
    priority: Mapped[Priority] = mapped_column(enum_type(Priority), default=Priority.NORMAL)
    owner: Mapped[Owner] = mapped_column(enum_type(Owner), default=Owner.QUEUE)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_seq: Mapped[int] = mapped_column(default=0)
    # Live chat: the site it came from, read receipts, the assistant's state, the rating.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    customer_read_seq: Mapped[int] = mapped_column(default=0)
    agent_read_seq: Mapped[int] = mapped_column(default=0)
    unhelpful_answers: Mapped[int] = mapped_column(default=0)  # in a row, reset by a helpful one
    handoff: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what the agent sees first
    csat_rating: Mapped[int | None]
    csat_comment: Mapped[str] = mapped_column(Text, default="")
    # Whom the rating is about, fixed when it is first given: the agent and queue that had
    # the conversation, or the assistant when it solved it without a human.
    csat_given_at: Mapped[datetime | None] = mapped_column(index=True)  # reports read ranges
    csat_agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    csat_queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id"))
    csat_by_assistant: Mapped[bool] = mapped_column(default=False)
    # Routing: since when it waits in a queue, the skills it asks for (``fr``, ``billing``),
    # and why routing left it waiting (noted once per wait; see services/routing.py).
    waiting_since: Mapped[datetime | None]
    required_skills: Mapped[list[str]] = mapped_column(default=list)
    routing_reason: Mapped[str | None] = mapped_column(String(32))
    # Set when merged into another conversation (closed then): mail to it threads there.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_message_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    solved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()
    queue: Mapped[Queue | None] = relationship(foreign_keys=[queue_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    tag_rows: Mapped[list[ConversationTag]] = relationship(
        cascade="all, delete-orphan", order_by="ConversationTag.name")

    @property
    def tags(self) -> list[str]:
        return [t.name for t in self.tag_rows]

    def set_tags(self, names: list[str]) -> None:
        """Replace the tags: trimmed, lower-cased, without duplicates, sorted by name."""
        wanted = {n.strip().lower() for n in names if n.strip()}
        kept = {t.name: t for t in self.tag_rows if t.name in wanted}
        added = [ConversationTag(name=n) for n in wanted - kept.keys()]
        self.tag_rows = sorted([*kept.values(), *added], key=lambda t: t.name)

    def move_to(self, status: ConversationStatus, now: datetime) -> None:
        """Apply a status change, enforcing the lifecycle and stamping its times."""
        if status == self.status:
            return
        if status not in ALLOWED_TRANSITIONS[self.status]:
            raise InvalidTransition(
                f"a {self.status.value} conversation cannot become {status.value}")
        self.status = status
        if status == ConversationStatus.SOLVED:
            self.solved_at = now
        elif status == ConversationStatus.CLOSED:
            self.closed_at = now
        else:
            self.solved_at = None

    def enter_queue(self, now: datetime) -> None:
        """It waits for an agent from ``now``: routing will say afresh why it waits."""
        self.waiting_since = now
        self.routing_reason = None

    @property
    def is_closed(self) -> bool:
        return self.status == ConversationStatus.CLOSED

    def event_fields(self) -> dict[str, Any]:
        """The fields every event about this conversation carries."""
        return {"customer_id": self.customer_id, "conversation_id": self.id,
                "channel": self.channel.value}


class ConversationTag(Base):
    __tablename__ = "conversation_tags"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "client_id"),
        Index("ix_messages_author_time", "author_kind", "created_at"),  # reports: replies
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]
    author_kind: Mapped[AuthorKind] = mapped_column(enum_type(AuthorKind))
    author_id: Mapped[int | None]
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    client_id: Mapped[str | None] = mapped_column(String(64))
    # Chat extras: cited articles, quick-reply options, whether feedback is asked for.
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="Attachment.id")


class Attachment(Base):
    """A stored file. Uploaded first (``message_id`` empty), then sent with a message."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message | None] = relationship(back_populates="attachments")
