"""The outbox: mail to customers, queued after the change that calls for it, sent by the
worker.

Queueing renders the mail at once (an agent's reply, the acknowledgement of a new email
conversation, the solved survey) with the headers that thread the customer's answer back
(``In-Reply-To``, ``References``, a ``Reply-To`` and a subject carrying the conversation's
token), and registers its Message-ID. ``send_due`` claims the mail that is due, so two
workers never send one twice, hands it to a ``Mailer`` and records the outcome: sent, a
retry after ``RETRY_DELAYS``, or failed with the reason. A reply shows where its mail is
in its message's ``meta["email"]``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from itertools import groupby, islice
from operator import itemgetter
from typing import Any

from markupsafe import Markup
from sqlalchemy import Row, and_, func, or_, select, update
from sqlalchemy.orm import Session

from config.settings import Settings
from helpdesk.mail.outbound import (
    Mailer,
    SendFailed,
    build_mime,
    new_message_id,
    paragraphs,
    refusals_text,
    render_mail,
)
from helpdesk.mail.threading import claim_message_id, reply_address, subject_tag
from helpdesk.models import (
    AuthorKind,
    Channel,
    Conversation,
    ConversationParticipant,
    ConversationStatus,
    Customer,
    EmailMessageRef,
    Identity,
    IdentityKind,
    InboundEmail,
    IntakeOutcome,
    Mailbox,
    Message,
    OutboundEmail,
    OutboundKind,
    OutboundState,
    Site,
    User,
)
from helpdesk.orm import utcnow
from helpdesk.sanitize import sanitize_html
from helpdesk.services import csat
from helpdesk.services.common import get_or_404, locked_rows
from helpdesk.uow import UnitOfWork

log = logging.getLogger(__name__)

# After the 1st, 2nd… failed attempt; after the last one the mail has failed for good.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
                timedelta(hours=2), timedelta(hours=6))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A claimed mail is nobody else's this long: longer than any SMTP exchange, so only the
# mail of a worker that died while sending is tried again.
CLAIM_LEASE = timedelta(minutes=10)
MISSED_REPLY_GRACE = timedelta(minutes=1)
MISSED_REPLY_WINDOW = timedelta(days=2)
MAX_REFERENCES = 20
MAX_ERROR = 2000
ADDRESSES_SCANNED = 20  # the customer's latest messages read for the address they write from
NO_SENDER = "no sender address: set mail_from, or give the conversation's queue a mailbox"
NO_RECIPIENT = "the customer has no email address"


@dataclass(frozen=True)
class MailPolicy:
    """What the settings decide for outgoing mail."""

    mail_from: str = ""  # "Support <support@shop.example>", when no mailbox gives one
    ack_rate_limit_per_hour: int = 3
    languages: tuple[str, ...] = ("en",)
    default_locale: str = "en"
    public_url: str = "http://127.0.0.1:5000"  # where the links in the mail lead
    secret_key: str = ""  # signs the survey's rating links

    @classmethod
    def from_settings(cls, settings: Settings) -> MailPolicy:
        public_url = settings.public_url or f"http://{settings.host}:{settings.port}"
        return cls(settings.mail_from, settings.ack_rate_limit_per_hour,
                   tuple(settings.languages), settings.default_locale, public_url,
                   settings.secret_key)


@dataclass(frozen=True)
class SendReport:
    """What one ``send_due`` pass did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


# --- queueing -----------------------------------------------------------------------------


def queue_agent_reply(uow: UnitOfWork, policy: MailPolicy,
                      message_id: int) -> OutboundEmail | None:
    """Queue an agent's public reply to the customer, the people copied in Cc; on a live
    chat only when the visitor left an address for the reply (offline mode)."""
    message = get_or_404(uow.session, Message, message_id)
    conversation = get_or_404(uow.session, Conversation, message.conversation_id)
    if not _goes_by_email(message, conversation):
        return None
    existing = uow.session.scalar(select(OutboundEmail).where(
        OutboundEmail.message_id == message.id))
    if existing is not None:
        return existing
    to = _customer_address(uow.session, conversation)
    mail = _queue(uow.session, policy, conversation, OutboundKind.AGENT_REPLY, to,
                  _reply_context(uow.session, message), message=message,
                  cc=_copied(uow.session, conversation.id, to))
    uow.commit()
    return mail


def queue_missed_replies(uow_factory: Callable[[], UnitOfWork], policy: MailPolicy,
                         now: datetime) -> int:
    """Queue the agents' email replies that an after-commit handler failed to queue (the
    reply is committed first, its mail queued after): the worker's safety net. Looks at
    replies older than ``MISSED_REPLY_GRACE`` (the handler had its chance) and younger
    than ``MISSED_REPLY_WINDOW``; returns how many it queued."""
    with uow_factory() as uow:
        missed = list(uow.session.scalars(
            select(Message.id).outerjoin(OutboundEmail, OutboundEmail.message_id == Message.id)
            .where(Message.author_kind == AuthorKind.AGENT, Message.internal.is_(False),
                   Message.channel == Channel.EMAIL, OutboundEmail.id.is_(None),
                   Message.created_at.between(now - MISSED_REPLY_WINDOW,
                                              now - MISSED_REPLY_GRACE))))
    for message_id in missed:
        log.warning("queueing agent reply %s by email: it was missed after its commit",
                    message_id)
        with uow_factory() as uow:
            queue_agent_reply(uow, policy, message_id)
    return len(missed)


def queue_acknowledgements(uow: UnitOfWork, policy: MailPolicy,
                           conversation_ids: Sequence[int]) -> list[OutboundEmail]:
    """Acknowledge the conversations that emails opened, in their order: once each, never
    to a bouncing address, and at most ``ack_rate_limit_per_hour`` to one sender (robots
    answering robots). A few queries read what all of them need."""
    conversations = _opened_by_email(uow.session, conversation_ids)
    # Serialises the customers' acknowledgements, so the counts below stay true.
    customers = {c.id: c for c in locked_rows(uow.session, Customer,
                                              [c.customer_id for c in conversations])}
    recipients = _automatic_recipients(uow.session, conversations,
                                       OutboundKind.ACKNOWLEDGEMENT)
    envelopes = _envelopes(uow.session, policy,
                           [c for c in conversations if c.id in recipients])
    sent = _acknowledged_lately(uow.session, set(recipients.values()))
    mails = []
    for conversation in conversations:
        to = recipients.get(conversation.id)
        if to is not None and _within_rate_limit(policy, sent, to):
            mails.append(_composed(conversation, OutboundKind.ACKNOWLEDGEMENT, to,
                                   _greeting_context(customers[conversation.customer_id]),
                                   envelopes[conversation.id]))
    _add(uow.session, mails)
    uow.commit()
    return mails


def _within_rate_limit(policy: MailPolicy, sent: Counter[str], to: str) -> bool:
    """Counts the acknowledgement to ``to`` when the hour's limit lets it go."""
    if sent[to] >= policy.ack_rate_limit_per_hour:
        log.info("no acknowledgement to %s: %s sent in the last hour", to,
                 policy.ack_rate_limit_per_hour)
        return False
    sent[to] += 1
    return True


def queue_solved_survey(uow: UnitOfWork, policy: MailPolicy,
                        conversation_id: int) -> OutboundEmail | None:
    """Ask the customer of a solved email conversation how it went, with one-click rating
    links (once per conversation, never to a bouncing address)."""
    conversation = get_or_404(uow.session, Conversation, conversation_id, lock=True)
    if (conversation.channel != Channel.EMAIL
            or conversation.status != ConversationStatus.SOLVED):
        return None
    to = _automatic_recipients(uow.session, [conversation],
                               OutboundKind.SOLVED_SURVEY).get(conversation.id)
    if to is None:
        return None
    links = csat.rating_links(policy.public_url, policy.secret_key, conversation.id)
    mail = _queue(uow.session, policy, conversation, OutboundKind.SOLVED_SURVEY, to,
                  _greeting_context(conversation.customer) | {"rating_links": links})
    uow.commit()
    return mail


@dataclass(frozen=True)
class _Envelope:
    """What a conversation's mail carries besides its content."""

    sender: tuple[str, str]  # (name, address); ("", "") when there is none
    locale: str
    in_reply_to: str | None
    references: list[str]


def _queue(session: Session, policy: MailPolicy, conversation: Conversation,
           kind: OutboundKind, to: str | None, context: dict[str, Any], *,
           message: Message | None = None, cc: Iterable[str] = ()) -> OutboundEmail:
    """Render and add one mail of the conversation."""
    envelope = _envelopes(session, policy, [conversation])[conversation.id]
    mail = _composed(conversation, kind, to, context, envelope, message=message, cc=cc)
    _add(session, [mail])
    return mail


def _composed(conversation: Conversation, kind: OutboundKind, to: str | None,
              context: dict[str, Any], envelope: _Envelope, *,
              message: Message | None = None, cc: Iterable[str] = ()) -> OutboundEmail:
    """The rendered mail; without a sender or a recipient it fails at once, visibly."""
    name, address = envelope.sender
    rendered = render_mail(kind, envelope.locale, {**context, "topic": conversation.subject,
                                                   "reference": conversation.id})
    mail = OutboundEmail(
        conversation_id=conversation.id, message_id=message.id if message else None,
        kind=kind, from_name=name, from_address=address, to_address=to or "",
        cc_addresses=list(cc), subject=f"{rendered.subject} {subject_tag(conversation.id)}",
        reply_to=reply_address(address, conversation.id) if address else "",
        rfc_message_id=new_message_id(address, conversation.id),
        in_reply_to=envelope.in_reply_to, references=envelope.references,
        text=rendered.text, html=rendered.html, auto_submitted=kind.automatic)
    if not address or not to:
        mail.state, mail.last_error = OutboundState.FAILED, NO_RECIPIENT if address else NO_SENDER
    return mail


def _add(session: Session, mails: list[OutboundEmail]) -> None:
    """Add the mails (one INSERT for them all) and register their Message-IDs."""
    session.add_all(mails)
    session.flush()
    for mail in mails:
        claim_message_id(session, mail.rfc_message_id, mail.conversation_id,
                         mail.message_id)  # new
        _show_on_message(session, mail)


# --- sending ------------------------------------------------------------------------------


def send_due(uow_factory: Callable[[], UnitOfWork], mailer: Mailer, now: datetime,
             limit: int = 20) -> SendReport:
    """Send up to ``limit`` queued mails due at ``now``, each claimed first (two workers
    never send one mail twice), and record each outcome. Safe to call at any time."""
    with uow_factory() as uow:
        claimed = claim_due(uow, now, limit)
    outcomes = Counter(_send_one(uow_factory, mailer, i, now) for i in claimed)
    return SendReport(outcomes[OutboundState.SENT], outcomes[OutboundState.QUEUED],
                      outcomes[OutboundState.FAILED])


def claim_due(uow: UnitOfWork, now: datetime, limit: int) -> list[int]:
    """Take up to ``limit`` due mails, counting the attempt: their next attempt moves a
    lease ahead, so no other worker takes them meanwhile.

    One conditional UPDATE: on PostgreSQL its subquery skips the rows another worker has
    locked (``FOR UPDATE SKIP LOCKED``); on SQLite the write lock serialises the claims.
    """
    due = (OutboundEmail.state == OutboundState.QUEUED, OutboundEmail.next_attempt_at <= now)
    candidates = (select(OutboundEmail.id).where(*due)
                  .order_by(OutboundEmail.next_attempt_at, OutboundEmail.id).limit(limit)
                  .with_for_update(skip_locked=True))
    claimed = uow.session.scalars(
        update(OutboundEmail).where(OutboundEmail.id.in_(candidates), *due)
        .values(attempts=OutboundEmail.attempts + 1, next_attempt_at=now + CLAIM_LEASE)
        .returning(OutboundEmail.id).execution_options(synchronize_session=False)).all()
    uow.commit()
    return sorted(claimed)


def retry_delay(attempts: int) -> timedelta | None:
    """How long after the ``attempts``-th failed attempt to try again; None: give up."""
    return RETRY_DELAYS[attempts - 1] if attempts < MAX_ATTEMPTS else None


def _send_one(uow_factory: Callable[[], UnitOfWork], mailer: Mailer, outbound_id: int,
              now: datetime) -> OutboundState:
    """Send one claimed mail; whatever goes wrong is recorded on it, never raised."""
    try:
        with uow_factory() as uow:
            mail = get_or_404(uow.session, OutboundEmail, outbound_id)
            envelope = (build_mime(mail, now), mail.from_address, mail.recipients)
        refused = mailer.send(*envelope)
    except SendFailed as exc:
        return _record_failure(uow_factory, outbound_id, str(exc), exc.permanent, now)
    except Exception as exc:  # an unforeseen error must not hold up the other mails
        log.exception("outbound email %s could not be sent", outbound_id)
        return _record_failure(uow_factory, outbound_id, f"{type(exc).__name__}: {exc}",
                               False, now)
    return _record_sent(uow_factory, outbound_id, refused, now)


def _record_sent(uow_factory: Callable[[], UnitOfWork], outbound_id: int,
                 refused: dict[str, str], now: datetime) -> OutboundState:
    with uow_factory() as uow:
        mail = get_or_404(uow.session, OutboundEmail, outbound_id, lock=True)
        mail.state, mail.sent_at = OutboundState.SENT, now
        mail.last_error = f"not accepted for {refusals_text(refused)}" if refused else ""
        _show_on_message(uow.session, mail)
        uow.commit()
    return OutboundState.SENT


def _record_failure(uow_factory: Callable[[], UnitOfWork], outbound_id: int, reason: str,
                    permanent: bool, now: datetime) -> OutboundState:
    """A retry after the attempt's delay, or failed for good (permanent, or the last try)."""
    with uow_factory() as uow:
        mail = get_or_404(uow.session, OutboundEmail, outbound_id, lock=True)
        delay = None if permanent else retry_delay(mail.attempts)
        mail.last_error = reason[:MAX_ERROR]
        if delay is None:
            mail.state = OutboundState.FAILED
        else:
            mail.next_attempt_at = now + delay
        _show_on_message(uow.session, mail)
        uow.commit()
        return mail.state


def _show_on_message(session: Session, mail: OutboundEmail) -> None:
    """Mirror the mail's state on the message it carries, for the agents' thread."""
    message = session.get(Message, mail.message_id) if mail.message_id else None
    if message is not None:
        message.meta = {**message.meta, "email": {
            "outbound_id": mail.id, "state": mail.state.value, "error": mail.last_error}}


# --- who, from whom, in which language ----------------------------------------------------


def _goes_by_email(message: Message, conversation: Conversation) -> bool:
    """An agent's public reply, on an email conversation or to a chat visitor's address."""
    if message.author_kind != AuthorKind.AGENT or message.internal:
        return False
    return message.channel == Channel.EMAIL or (
        message.channel == Channel.CHAT and bool(conversation.handoff.get("reply_by_email")))


def _customer_address(session: Session, conversation: Conversation) -> str | None:
    """Where the customer reads (see ``_customer_addresses``)."""
    return _customer_addresses(session, [conversation]).get(conversation.id)


def _customer_addresses(session: Session,
                        conversations: Sequence[Conversation]) -> dict[int, str]:
    """Where each customer reads: the address a chat visitor left, else the one they last
    wrote from (its Reply-To first), else their first working email identity."""
    written = _addresses_written_from(
        session, [c for c in conversations if c.channel != Channel.CHAT])
    addresses = {}
    for conversation in conversations:
        if conversation.channel == Channel.CHAT:
            address = conversation.handoff.get("reply_by_email")
        else:
            address = written.get(conversation.id) or _email_identity(conversation.customer)
        if address:
            addresses[conversation.id] = address.lower()
    return addresses


def _addresses_written_from(session: Session,
                            conversations: Sequence[Conversation]) -> dict[int, str]:
    """The address each customer last wrote from, among their latest messages."""
    if not conversations:
        return {}
    authors = [and_(Message.conversation_id == c.id, Message.author_id == c.customer_id)
               for c in conversations]
    rows = session.execute(
        select(Message.conversation_id, Message.meta)
        .where(Message.author_kind == AuthorKind.CUSTOMER, or_(*authors))
        .order_by(Message.conversation_id, Message.seq.desc()))
    addresses: dict[int, str] = {}
    for conversation_id, metas in groupby(rows, key=itemgetter(0)):
        address = _written_from(meta for _, meta in islice(metas, ADDRESSES_SCANNED))
        if address:
            addresses[conversation_id] = address
    return addresses


def _written_from(metas: Iterable[dict[str, Any]]) -> str | None:
    for meta in metas:
        headers = meta.get("email") or {}
        for address in [*(headers.get("reply_to") or []), headers.get("from")]:
            if address and address.get("email"):
                return address["email"]
    return None


def _email_identity(customer: Customer) -> str | None:
    emails = [i for i in customer.identities if i.kind == IdentityKind.EMAIL]
    emails.sort(key=lambda i: i.bouncing)
    return emails[0].value if emails else None


def _copied(session: Session, conversation_id: int, to: str | None) -> list[str]:
    """The conversation's participants, for the Cc of agent replies."""
    emails = session.scalars(select(ConversationParticipant.email).where(
        ConversationParticipant.conversation_id == conversation_id)
        .order_by(ConversationParticipant.email))
    return [e for e in emails if e != to]


def _envelopes(session: Session, policy: MailPolicy,
               conversations: Sequence[Conversation]) -> dict[int, _Envelope]:
    """Each conversation's sender, language and thread headers, read together."""
    senders = _senders(session, policy, conversations)
    threads = _thread_ids(session, [c.id for c in conversations])
    return {c.id: _Envelope(senders[c.id], customer_locale(session, policy, c),
                            *threads.get(c.id, (None, [])))
            for c in conversations}


def _senders(session: Session, policy: MailPolicy,
             conversations: Sequence[Conversation]) -> dict[int, tuple[str, str]]:
    """(name, address) of the mailbox each conversation's mail last came through, else of
    one of its queue's, else of ``mail_from``; ("", "") when there is none."""
    received = dict(session.execute(
        select(InboundEmail.conversation_id, Mailbox)
        .join(Mailbox, InboundEmail.mailbox_id == Mailbox.id)
        .where(InboundEmail.conversation_id.in_([c.id for c in conversations]))
        .order_by(InboundEmail.id)).all())
    default = parseaddr(policy.mail_from) if policy.mail_from else ("", "")
    senders = {}
    for conversation in conversations:
        mailbox = received.get(conversation.id) or _queue_mailbox(session, conversation)
        senders[conversation.id] = (mailbox.name, mailbox.address) if mailbox else default
    return senders


def _queue_mailbox(session: Session, conversation: Conversation) -> Mailbox | None:
    if conversation.queue_id is None:
        return None
    return session.scalar(select(Mailbox).where(
        Mailbox.queue_id == conversation.queue_id, Mailbox.active.is_(True))
        .order_by(Mailbox.id).limit(1))


def customer_locale(session: Session, policy: MailPolicy, conversation: Conversation) -> str:
    """The customer's language, else the chat site's, else the default (each as given
    or as its base language, ``fr-CA`` → ``fr``)."""
    site = session.get(Site, conversation.site_id) if conversation.site_id else None
    for wanted in (conversation.customer.language, site.language if site else None):
        for code in (wanted, (wanted or "").replace("_", "-").split("-")[0].lower()):
            if code and code in policy.languages:
                return code
    return policy.default_locale


def _thread_ids(session: Session,
                conversation_ids: Sequence[int]) -> dict[int, tuple[str | None, list[str]]]:
    """Per conversation, In-Reply-To: the customer's latest email (else the latest known);
    References: the conversation's Message-IDs, oldest first, ending with the one replied
    to. Conversations without a Message-ID are left out."""
    rows = session.execute(
        select(EmailMessageRef.conversation_id, EmailMessageRef.rfc_message_id,
               Message.author_kind)
        .outerjoin(Message, Message.id == EmailMessageRef.message_id)
        .where(EmailMessageRef.conversation_id.in_(conversation_ids))
        .order_by(EmailMessageRef.conversation_id, EmailMessageRef.id))
    return {conversation_id: _thread_headers(list(refs))
            for conversation_id, refs in groupby(rows, key=itemgetter(0))}


def _thread_headers(rows: list[Row[Any]]) -> tuple[str, list[str]]:
    known = [row.rfc_message_id for row in rows]
    inbound = [row.rfc_message_id for row in rows if row.author_kind == AuthorKind.CUSTOMER]
    parent = inbound[-1] if inbound else known[-1]
    return parent, [*[i for i in known if i != parent][-(MAX_REFERENCES - 1):], parent]


# --- what automatic mail checks -----------------------------------------------------------


def _opened_by_email(session: Session, conversation_ids: Sequence[int]) -> list[Conversation]:
    """The conversations among these that an email opened, in the order given."""
    opened = {c.id: c for c in session.scalars(
        select(Conversation).where(Conversation.id.in_(conversation_ids), select(
            InboundEmail.id).where(InboundEmail.conversation_id == Conversation.id,
                                   InboundEmail.outcome == IntakeOutcome.NEW_CONVERSATION)
            .exists()))}
    return [opened[i] for i in dict.fromkeys(conversation_ids) if i in opened]


def _automatic_recipients(session: Session, conversations: Sequence[Conversation],
                          kind: OutboundKind) -> dict[int, str]:
    """Where each conversation's automatic mail of ``kind`` may go: not twice in one
    conversation, never to an address that bounced."""
    addresses = _customer_addresses(session, conversations)
    if not addresses:
        return {}
    already = set(session.scalars(select(OutboundEmail.conversation_id).where(
        OutboundEmail.conversation_id.in_(addresses), OutboundEmail.kind == kind)))
    bouncing = set(session.scalars(select(Identity.value).where(
        Identity.kind == IdentityKind.EMAIL, Identity.value.in_(set(addresses.values())),
        Identity.bouncing.is_(True))))
    return {conversation_id: to for conversation_id, to in addresses.items()
            if conversation_id not in already and to not in bouncing}


def _acknowledged_lately(session: Session, addresses: set[str]) -> Counter[str]:
    """Acknowledgements sent to each address in the last hour."""
    if not addresses:
        return Counter()
    return Counter(dict(session.execute(
        select(OutboundEmail.to_address, func.count())
        .where(OutboundEmail.kind == OutboundKind.ACKNOWLEDGEMENT,
               OutboundEmail.to_address.in_(addresses),
               OutboundEmail.created_at > utcnow() - timedelta(hours=1))
        .group_by(OutboundEmail.to_address)).all()))


# --- template contexts --------------------------------------------------------------------


def _greeting_context(customer: Customer) -> dict[str, Any]:
    return {"name": customer.name}


def _reply_context(session: Session, message: Message) -> dict[str, Any]:
    author = session.get(User, message.author_id) if message.author_id else None
    # Sanitized HTML: the one value the HTML template does not escape.
    html = Markup(sanitize_html(message.body_html)) if message.body_html else None  # noqa: S704
    return {"body": message.body, "body_html": html, "body_paragraphs": paragraphs(message.body),
            "agent_name": author.name if author else ""}
