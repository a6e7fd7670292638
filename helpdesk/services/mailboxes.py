"""Mailboxes Comptoir polls: their settings (the password kept encrypted) and the poller's
bookkeeping (UIDVALIDITY and last UID taken, last poll, last error)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer, joinedload

from helpdesk import events
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.events import Actor
from helpdesk.mail.secrets import encrypt_secret
from helpdesk.models import InboundEmail, InboundState, Mailbox, MailboxSecurity, Queue
from helpdesk.orm import utcnow
from helpdesk.services.common import checked_enum, get_or_404
from helpdesk.services.customers import EMAIL_RE
from helpdesk.uow import UnitOfWork

DEFAULT_PORTS = {MailboxSecurity.TLS: 993, MailboxSecurity.STARTTLS: 143,
                 MailboxSecurity.NONE: 143}
MIN_POLL_SECONDS = 10
MAX_POLL_SECONDS = 86_400
MAX_PORT = 65_535
MAX_ERROR = 2000
REQUIRED = ("name", "address", "imap_host")
# Changing where the mail is read makes the remembered UIDs meaningless.
LOCATION = ("imap_host", "imap_port", "imap_username", "imap_folder")


def create_mailbox(uow: UnitOfWork, actor: Actor, *, password: str, **fields: Any) -> Mailbox:
    """A new mailbox to poll; its address is unique, its password required. The port
    defaults to the security's (993 for TLS, 143 otherwise), the username to the address."""
    missing = [name for name in REQUIRED if not str(fields.get(name) or "").strip()]
    if missing:
        raise ValidationFailed(f"the mailbox needs a {missing[0].replace('_', ' ')}",
                               field=missing[0])
    if not password:
        raise ValidationFailed("the mailbox needs the IMAP password", field="password")
    security = checked_enum(MailboxSecurity, fields.get("imap_security", "tls"),
                            "imap_security")
    fields = {"imap_security": security, "imap_port": DEFAULT_PORTS[security],
              "imap_username": fields["address"], **fields}
    mailbox = Mailbox()
    _apply(uow.session, mailbox, fields)
    mailbox.password_encrypted = encrypt_secret(password)
    uow.session.add(mailbox)
    uow.session.flush()
    _audit(uow, actor, "mailbox.created", mailbox, {"address": mailbox.address})
    uow.commit()
    return mailbox


def update_mailbox(uow: UnitOfWork, actor: Actor, mailbox_id: int, *,
                   password: str | None = None, **fields: Any) -> Mailbox:
    """Change a mailbox's settings (``password`` None: keep it). Reading from another server,
    account or folder starts from that folder's first message again."""
    mailbox = get_or_404(uow.session, Mailbox, mailbox_id)
    before = {name: getattr(mailbox, name) for name in LOCATION}
    _apply(uow.session, mailbox, fields)
    if any(getattr(mailbox, name) != value for name, value in before.items()):
        mailbox.uid_validity = mailbox.last_uid = None
    if password:
        mailbox.password_encrypted = encrypt_secret(password)
    _audit(uow, actor, "mailbox.updated", mailbox,
           {"fields": sorted(fields), "password_changed": bool(password)})
    uow.commit()
    return mailbox


def deactivate_mailbox(uow: UnitOfWork, actor: Actor, mailbox_id: int) -> Mailbox:
    """Stop polling a mailbox; its mail already received stays."""
    mailbox = get_or_404(uow.session, Mailbox, mailbox_id)
    mailbox.active = False
    _audit(uow, actor, "mailbox.deactivated", mailbox, {"address": mailbox.address})
    uow.commit()
    return mailbox


def all_mailboxes(session: Session) -> list[Mailbox]:
    """Every mailbox, active ones first, by name."""
    return list(session.scalars(select(Mailbox).order_by(Mailbox.active.desc(),
                                                         Mailbox.name, Mailbox.id)))


def due_mailboxes(session: Session, now: datetime) -> list[int]:
    """The active mailboxes whose poll interval has passed since their last poll."""
    return [m.id for m in session.scalars(select(Mailbox).where(Mailbox.active)
                                          .order_by(Mailbox.id))
            if m.last_polled_at is None
            or m.last_polled_at + timedelta(seconds=m.poll_seconds) <= now]


def active_mailbox_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Mailbox.id).where(Mailbox.active).order_by(Mailbox.id)))


def pending_emails(session: Session, mailbox_id: int) -> list[int]:
    """The mailbox's emails stored but never processed (a poller stopped in between)."""
    return list(session.scalars(select(InboundEmail.id).where(
        InboundEmail.mailbox_id == mailbox_id, InboundEmail.state == InboundState.RECEIVED)
        .order_by(InboundEmail.id)))


def quarantine_page(session: Session, limit: int) -> list[InboundEmail]:
    """The newest quarantined emails with their mailbox, the raw bytes left unread."""
    return list(session.scalars(
        select(InboundEmail).where(InboundEmail.state == InboundState.QUARANTINED)
        .options(defer(InboundEmail.raw), joinedload(InboundEmail.mailbox))
        .order_by(InboundEmail.id.desc()).limit(limit)))


def quarantine_size(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(InboundEmail).where(
        InboundEmail.state == InboundState.QUARANTINED)) or 0


# --- the poller's bookkeeping ---------------------------------------------------------------


def resume_point(uow: UnitOfWork, mailbox_id: int, uid_validity: int) -> int:
    """The last UID taken from the folder, 0 when its UIDVALIDITY is new (then the old UIDs
    name other messages: the folder is read from the start, the intake skips duplicates)."""
    mailbox = get_or_404(uow.session, Mailbox, mailbox_id)
    if mailbox.uid_validity != uid_validity:
        mailbox.uid_validity, mailbox.last_uid = uid_validity, 0
        uow.commit()
    return mailbox.last_uid or 0


def advance(uow: UnitOfWork, mailbox_id: int, uid: int) -> None:
    """Remember that the folder's messages up to ``uid`` are stored."""
    mailbox = get_or_404(uow.session, Mailbox, mailbox_id)
    mailbox.last_uid = max(mailbox.last_uid or 0, uid)
    uow.commit()


def record_poll(uow: UnitOfWork, mailbox_id: int, error: str = "") -> None:
    """Note a poll's time and its error (empty: it went well)."""
    mailbox = get_or_404(uow.session, Mailbox, mailbox_id)
    mailbox.last_polled_at = utcnow()
    mailbox.last_error = error[:MAX_ERROR]
    uow.commit()


# --- checks ---------------------------------------------------------------------------------


def _apply(session: Session, mailbox: Mailbox, fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - set(_CHECKS))
    if unknown:
        raise ValidationFailed(f"unknown mailbox field(s): {', '.join(unknown)}",
                               field=unknown[0])
    for name, value in fields.items():
        setattr(mailbox, name, _CHECKS[name](value))
    _check_unique(session, mailbox)
    if mailbox.queue_id is not None:
        get_or_404(session, Queue, mailbox.queue_id, field="queue_id")


def _check_unique(session: Session, mailbox: Mailbox) -> None:
    with session.no_autoflush:
        clash = session.scalar(select(Mailbox.id).where(Mailbox.address == mailbox.address))
    if clash is not None and clash != mailbox.id:
        raise Conflict(f"a mailbox for {mailbox.address} exists", field="address")


def _text(field: str, limit: int, *, ascii_only: bool = False) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = str(value or "").strip()
        if not text:
            raise ValidationFailed(f"the {field.replace('_', ' ')} must not be empty",
                                   field=field)
        if len(text) > limit:
            raise ValidationFailed(f"the {field.replace('_', ' ')} is longer than {limit} "
                                   "characters", field=field)
        if ascii_only and not (text.isascii() and text.isprintable()):
            raise ValidationFailed(f"the {field.replace('_', ' ')} must be printable ASCII "
                                   "(IMAP names other folders in modified UTF-7)", field=field)
        return text
    return check


def _number(field: str, low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        text = str(value).strip()
        if not text.isdigit() or not low <= int(text) <= high:
            raise ValidationFailed(f"the {field.replace('_', ' ')} must be a whole number "
                                   f"from {low} to {high}", field=field)
        return int(text)
    return check


def _address(value: Any) -> str:
    address = _text("address", 320)(value).lower()
    if not EMAIL_RE.match(address):
        raise ValidationFailed(f"{address!r} is not an email address", field="address")
    return address


def _host(value: Any) -> str:
    host = _text("imap_host", 255, ascii_only=True)(value)
    if " " in host:
        raise ValidationFailed("the IMAP host must not contain spaces", field="imap_host")
    return host


def _queue_id(value: Any) -> int | None:
    return None if value in (None, "") else _number("queue_id", 1, 2**31 - 1)(value)


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _text("name", 200),
    "address": _address,
    "imap_host": _host,
    "imap_port": _number("imap_port", 1, MAX_PORT),
    "imap_security": lambda v: checked_enum(MailboxSecurity, v, "imap_security"),
    "imap_username": _text("imap_username", 320),
    "imap_folder": _text("imap_folder", 200, ascii_only=True),
    "poll_seconds": _number("poll_seconds", MIN_POLL_SECONDS, MAX_POLL_SECONDS),
    "queue_id": _queue_id,
    "use_idle": bool,
    "active": bool,
}


def _audit(uow: UnitOfWork, actor: Actor, action: str, mailbox: Mailbox,
           details: dict[str, Any]) -> None:
    uow.record(events.StaffChanged(actor=actor, action=action, target_type="mailbox",
                                   target_id=mailbox.id, details=details))
