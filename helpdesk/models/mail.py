"""Email: inbound messages stored before anything else, the Message-IDs that thread
replies, the people copied on a conversation, the mailboxes polled for mail, and the
outbox of mail waiting to be sent."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.models.types import enum_type
from helpdesk.orm import Base, utcnow

MESSAGE_ID_LENGTH = 500


class InboundSource(StrEnum):
    CLI = "cli"
    API = "api"
    IMAP = "imap"


class InboundState(StrEnum):
    RECEIVED = "received"  # stored, not processed yet
    PROCESSED = "processed"
    QUARANTINED = "quarantined"  # processing failed; the raw waits for a reprocess


class IntakeOutcome(StrEnum):
    NEW_CONVERSATION = "new_conversation"
    APPENDED = "appended"
    DUPLICATE = "duplicate"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    QUARANTINED = "quarantined"


class ThreadRule(StrEnum):
    """Which threading rule placed the mail (see helpdesk.mail.threading)."""

    IN_REPLY_TO = "in_reply_to"
    REFERENCES = "references"
    ADDRESS_TOKEN = "address_token"  # noqa: S105 (a rule name)
    SUBJECT_TOKEN = "subject_token"  # noqa: S105
    NEW = "new"


class OutboundKind(StrEnum):
    AGENT_REPLY = "agent_reply"
    ACKNOWLEDGEMENT = "acknowledgement"
    SOLVED_SURVEY = "solved_survey"
    NOTIFICATION = "notification"

    @property
    def automatic(self) -> bool:
        """Sent by Comptoir on its own (RFC 3834): other robots must not answer it."""
        return self in (OutboundKind.ACKNOWLEDGEMENT, OutboundKind.SOLVED_SURVEY)


class OutboundState(StrEnum):
    QUEUED = "queued"  # waiting for ``next_attempt_at`` (first try or a retry)
    SENT = "sent"
    FAILED = "failed"  # given up: ``last_error`` says why


class MailboxSecurity(StrEnum):
    TLS = "tls"
    STARTTLS = "starttls"
    NONE = "none"


class Mailbox(Base):
    """An IMAP mailbox Comptoir polls; its mail goes to ``queue``."""

    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(320), unique=True)
    imap_host: Mapped[str] = mapped_column(String(255))
    imap_port: Mapped[int] = mapped_column(default=993)
    imap_security: Mapped[MailboxSecurity] = mapped_column(
        enum_type(MailboxSecurity), default=MailboxSecurity.TLS)
    imap_username: Mapped[str] = mapped_column(String(320))
    # Fernet token (helpdesk.mail.secrets), keyed by the app's secret key.
    password_encrypted: Mapped[str] = mapped_column(Text, default="")
    imap_folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    poll_seconds: Mapped[int] = mapped_column(default=60)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="SET NULL"))
    use_idle: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # IMAP UIDs are unsigned 32-bit; they only hold while the folder's UIDVALIDITY does.
    last_uid: Mapped[int | None] = mapped_column(BigInteger)
    uid_validity: Mapped[int | None] = mapped_column(BigInteger)
    last_polled_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundEmail(Base):
    """One received email, raw bytes first; processing then records what became of it."""

    __tablename__ = "inbound_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Message-ID (no angle brackets), or "sha256:<hash>" of the raw bytes without one.
    dedup_key: Mapped[str] = mapped_column(String(MESSAGE_ID_LENGTH + 20), unique=True)
    rfc_message_id: Mapped[str | None] = mapped_column(String(MESSAGE_ID_LENGTH))
    sha256: Mapped[str] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    source: Mapped[InboundSource] = mapped_column(enum_type(InboundSource))
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="SET NULL"))
    source_ref: Mapped[str] = mapped_column(String(1000), default="")  # file, IMAP UID…
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[InboundState] = mapped_column(
        enum_type(InboundState), default=InboundState.RECEIVED, index=True)
    outcome: Mapped[IntakeOutcome | None] = mapped_column(enum_type(IntakeOutcome))
    reason: Mapped[str] = mapped_column(Text, default="")
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    thread_rule: Mapped[ThreadRule | None] = mapped_column(enum_type(ThreadRule))
    attempts: Mapped[int] = mapped_column(default=0)
    processed_at: Mapped[datetime | None]

    mailbox: Mapped[Mailbox | None] = relationship()


class EmailMessageRef(Base):
    """An RFC Message-ID Comptoir sent or received, and the conversation it belongs to."""

    __tablename__ = "email_message_refs"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfc_message_id: Mapped[str] = mapped_column(String(MESSAGE_ID_LENGTH), unique=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationParticipant(Base):
    """Someone copied on an email conversation besides its customer: their replies thread."""

    __tablename__ = "conversation_participants"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboundEmail(Base):
    """A mail Comptoir sends, rendered when queued; the worker sends it when it is due."""

    __tablename__ = "outbound_emails"
    __table_args__ = (Index("ix_outbound_emails_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    # The message it carries (an agent's reply); automatic mail carries none.
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), unique=True)
    kind: Mapped[OutboundKind] = mapped_column(enum_type(OutboundKind))
    from_name: Mapped[str] = mapped_column(String(200), default="")
    from_address: Mapped[str] = mapped_column(String(320), default="")
    to_address: Mapped[str] = mapped_column(String(320), default="", index=True)
    cc_addresses: Mapped[list[str]] = mapped_column(default=list)
    reply_to: Mapped[str] = mapped_column(String(400), default="")
    subject: Mapped[str] = mapped_column(String(1000))
    rfc_message_id: Mapped[str] = mapped_column(String(MESSAGE_ID_LENGTH), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(MESSAGE_ID_LENGTH))
    references: Mapped[list[str]] = mapped_column(default=list)
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    auto_submitted: Mapped[bool] = mapped_column(default=False)
    state: Mapped[OutboundState] = mapped_column(
        enum_type(OutboundState), default=OutboundState.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def recipients(self) -> list[str]:
        return [self.to_address, *self.cc_addresses]
