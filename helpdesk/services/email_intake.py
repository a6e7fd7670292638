"""Email intake: keep each raw email first, then make it what it is in one transaction.

``store`` keeps the raw bytes once per Message-ID (per content when there is none) before
anything can fail. ``process`` parses it, then: a person's mail becomes a message of the
conversation it threads to (helpdesk.mail.threading) or of a new one; an auto-reply or a
bounce is only recorded in the history, never answered. When processing fails, the caller
``quarantine``s the email with the reason; ``requeue`` lets it be processed again.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.mail import threading
from helpdesk.mail.parsing import (
    Address,
    Bounce,
    MailKind,
    ParsedAttachment,
    ParsedEmail,
    parse_email,
)
from helpdesk.models import (
    Attachment,
    Channel,
    Conversation,
    ConversationParticipant,
    Customer,
    Identity,
    IdentityKind,
    InboundEmail,
    InboundSource,
    InboundState,
    IntakeOutcome,
    Mailbox,
    Message,
    ThreadRule,
)
from helpdesk.orm import utcnow
from helpdesk.services import attachments, conversations, customers
from helpdesk.services.common import (
    existing_locked_rows,
    get_or_404,
    insert_unless_present,
    locked_rows,
)
from helpdesk.services.conversations import MAX_BODY, NewMessage
from helpdesk.uow import UnitOfWork

NO_TEXT = "(no text)"
TRUNCATED = "\n\n[… cut here: the full text is in the original email]"
MAX_REASON = 2000
MAX_SOURCE_REF = 1000
MAX_ADDRESS = 320
RETURNED_TYPES = ("message/rfc822", "text/rfc822-headers")


class EmptyEmail(DomainError):
    code = "empty_email"
    status = 400


@dataclass(frozen=True)
class Source:
    """Where an email came from: the CLI (a file), the API, or a polled mailbox."""

    kind: InboundSource
    reference: str = ""  # file path, "mbox#3", IMAP UID, API token…
    mailbox_id: int | None = None


@dataclass(frozen=True)
class Stored:
    email_id: int
    earlier: InboundEmail | None = None  # the row of the same message, stored before


def store(uow: UnitOfWork, raw: bytes, source: Source) -> Stored:
    """Keep the raw email, committed; the same message again returns the row stored the
    first time."""
    stored = keep(uow, raw, source)
    uow.commit()
    return stored


def keep(uow: UnitOfWork, raw: bytes, source: Source) -> Stored:
    """``store`` without the commit."""
    [stored] = keep_many(uow, [(raw, source)])
    return stored


def keep_many(uow: UnitOfWork, emails: Sequence[tuple[bytes, Source]]) -> list[Stored]:
    """Keep raw emails in one INSERT, in the caller's transaction. A copy stored before (or
    concurrently, or twice in ``emails``) inserts nothing and leaves the others be; an
    empty email raises EmptyEmail and keeps none."""
    if not emails:
        return []
    if any(is_empty(raw) for raw, _source in emails):
        raise EmptyEmail("the email is empty: send the whole raw message (RFC 822)",
                         field="body")
    rows = [_stored_row(raw, source) for raw, source in emails]
    inserted = dict(uow.session.execute(
        insert_unless_present(uow.session, InboundEmail, "dedup_key")
        .returning(InboundEmail.dedup_key, InboundEmail.id), rows).all())
    keys = [row["dedup_key"] for row in rows]
    first: dict[str, int] = {}
    for n, key in enumerate(keys):
        first.setdefault(key, n)
    new = [key in inserted and first[key] == n for n, key in enumerate(keys)]
    again = {key for key, is_new in zip(keys, new, strict=True) if not is_new}
    earlier = _stored(uow.session, again)
    return [Stored(inserted[key]) if is_new else Stored(earlier[key].id, earlier[key])
            for key, is_new in zip(keys, new, strict=True)]


def is_empty(raw: bytes) -> bool:
    return not raw.strip()


def _stored_row(raw: bytes, source: Source) -> dict[str, Any]:
    digest = hashlib.sha256(raw).hexdigest()
    rfc_id = threading.normalized_message_id(_header(raw, "Message-ID"))
    return {"dedup_key": rfc_id or f"sha256:{digest}", "rfc_message_id": rfc_id,
            "sha256": digest, "raw": raw, "size": len(raw), "source": source.kind,
            "mailbox_id": source.mailbox_id,
            "source_ref": source.reference[:MAX_SOURCE_REF]}


@dataclass(frozen=True)
class Claimed:
    """A stored email locked until commit, parsed (or what parsing raised; None when it was
    processed already), with what its batch looked up together: the conversations of the
    Message-IDs the batch carries or answers, and the customers owning its senders'
    addresses (one that an earlier email of the batch created is looked up as it comes)."""

    email: InboundEmail
    parsed: ParsedEmail | Exception | None
    message_ids: threading.MessageIds
    senders: Mapping[str, Customer] = field(default_factory=dict)
    # The conversations these emails may continue, locked: held here, the session keeps them.
    conversations: Sequence[Conversation] = ()


def claim(uow: UnitOfWork, inbound_ids: Sequence[int]) -> list[Claimed]:
    """Lock stored emails for processing, in the order given, and parse them; what they
    need is looked up in four queries for them all (an id that is no email raises
    NotFound), and the conversations they may continue are locked."""
    emails = {e.id: e for e in locked_rows(uow.session, InboundEmail, inbound_ids)}
    parsed = {i: _parsed(e) for i, e in emails.items()}
    readable = [p for p in parsed.values() if isinstance(p, ParsedEmail)]
    message_ids = threading.MessageIds(uow.session)
    message_ids.load([*(e.rfc_message_id for e in emails.values() if e.rfc_message_id),
                      *(i for p in readable for i in threading.replied_ids(p))])
    continued = existing_locked_rows(uow.session, Conversation, [
        i for p in readable for i in threading.named_conversations(p, message_ids)])
    senders = customers.find_by_identities(uow.session, IdentityKind.EMAIL, (
        p.sender.email.strip().lower() for p in readable if p.sender is not None))
    return [Claimed(emails[i], parsed[i], message_ids, senders, continued)
            for i in inbound_ids]


def _parsed(email: InboundEmail) -> ParsedEmail | Exception | None:
    if email.state != InboundState.RECEIVED:
        return None
    try:
        return parse_email(email.raw)
    except Exception as exc:  # raised again when the email is processed, to quarantine it
        return exc


def process(uow: UnitOfWork, inbound_id: int, *, storage: Path) -> InboundEmail:
    """Parse, thread and record a stored email, all in one transaction (``storage``: the
    attachments folder). An email already processed or quarantined is returned as it is."""
    [claimed] = claim(uow, [inbound_id])
    return process_claimed(uow, claimed, storage=storage)


def process_claimed(uow: UnitOfWork, claimed: Claimed, *, storage: Path) -> InboundEmail:
    """``process`` for an email the caller has claimed."""
    email, parsed, message_ids = claimed.email, claimed.parsed, claimed.message_ids
    check(claimed)
    if email.state != InboundState.RECEIVED or not isinstance(parsed, ParsedEmail):
        return email
    known = _known(claimed)
    with uow.one_transaction():
        sender = _sender(uow, parsed, claimed.senders) if known is None else None
        _dispatch(uow, email, parsed, sender, known, storage, message_ids)
    uow.session.flush()  # in a batch's transaction: written, so its replies may thread here
    rfc_id = email.rfc_message_id
    if rfc_id and email.outcome in (IntakeOutcome.NEW_CONVERSATION, IntakeOutcome.APPENDED):
        message_ids.add(rfc_id, email.conversation_id)
    return email


def check(claimed: Claimed) -> None:
    """Raise what ``process_claimed`` would fail on before writing anything (the email is
    unreadable, or a person's mail without a valid sender address), so that a batch can
    set it aside without a savepoint."""
    if isinstance(claimed.parsed, Exception):
        raise claimed.parsed
    if isinstance(claimed.parsed, ParsedEmail) and _known(claimed) is None:
        _sender_address(claimed.parsed)


def _known(claimed: Claimed) -> int | None:
    """The conversation that already holds the email's Message-ID, if any."""
    rfc_id = claimed.email.rfc_message_id
    return claimed.message_ids.conversations([rfc_id]).get(rfc_id) if rfc_id else None


def quarantine(uow: UnitOfWork, inbound_id: int, reason: str) -> InboundEmail:
    """Set a failed email aside with the reason; its raw bytes wait for ``requeue``."""
    email = set_aside(uow, inbound_id, reason)
    uow.commit()
    return email


def set_aside(uow: UnitOfWork, inbound_id: int, reason: str) -> InboundEmail:
    """``quarantine`` without the commit: the caller's transaction holds the change."""
    email = get_or_404(uow.session, InboundEmail, inbound_id, lock=True)
    if email.state == InboundState.PROCESSED:
        return email  # a concurrent attempt succeeded
    _finish(email, IntakeOutcome.QUARANTINED, reason=reason)
    email.state = InboundState.QUARANTINED
    return email


def requeue(uow: UnitOfWork, inbound_id: int) -> InboundEmail:
    """Make a quarantined email processable again (others are left as they are)."""
    email = get_or_404(uow.session, InboundEmail, inbound_id, lock=True)
    if email.state == InboundState.QUARANTINED:
        email.state, email.outcome, email.reason = InboundState.RECEIVED, None, ""
        uow.commit()
    return email


def quarantined(session: Session) -> list[InboundEmail]:
    """The quarantined emails, oldest first."""
    return list(session.scalars(select(InboundEmail).where(
        InboundEmail.state == InboundState.QUARANTINED).order_by(InboundEmail.id)))


# --- what an email becomes ----------------------------------------------------------------


def _dispatch(uow: UnitOfWork, email: InboundEmail, parsed: ParsedEmail,
              sender: Customer | None, known: int | None, storage: Path,
              message_ids: threading.MessageIds) -> None:
    """Record the email as what it is; ``known``: the conversation holding its Message-ID."""
    if known is not None:
        _finish(email, IntakeOutcome.DUPLICATE, conversation_id=known,
                reason="this Message-ID is already in the conversation")
    elif parsed.kind == MailKind.BOUNCE:
        _record_bounce(uow, email, parsed, message_ids)
    elif parsed.kind == MailKind.AUTO_REPLY:
        _record_auto_reply(uow, email, parsed, sender, message_ids)
    else:
        assert sender is not None  # _sender raised for a person's mail without a From
        _deliver(uow, email, parsed, sender, storage, message_ids)


def _sender(uow: UnitOfWork, parsed: ParsedEmail,
            senders: Mapping[str, Customer]) -> Customer | None:
    """The customer who wrote (``senders``: some already looked up); created for a person's
    mail, only looked up for automatic mail."""
    address = _sender_address(parsed)
    if address is None:
        return None
    if (known := senders.get(address)) is not None:
        return known
    if parsed.kind == MailKind.AUTO_REPLY:
        return customers.find_by_identity(uow.session, IdentityKind.EMAIL, address)
    assert parsed.sender is not None  # _sender_address found the address there
    return customers.identify(uow, SYSTEM, IdentityKind.EMAIL, address, name=parsed.sender.name)


def _sender_address(parsed: ParsedEmail) -> str | None:
    """The address of who wrote, in canonical form; None for a bounce (never from the
    customer) and for an auto-reply without a valid one. A person's mail without a valid one
    raises ValidationFailed."""
    if parsed.kind == MailKind.BOUNCE:
        return None
    try:
        if parsed.sender is None:
            raise ValidationFailed("the email has no sender address (From)", field="from")
        return customers.normalize_identity(IdentityKind.EMAIL, parsed.sender.email)
    except ValidationFailed:
        if parsed.kind == MailKind.AUTO_REPLY:
            return None
        raise


def _deliver(uow: UnitOfWork, email: InboundEmail, parsed: ParsedEmail, sender: Customer,
             storage: Path, message_ids: threading.MessageIds) -> None:
    """A person's mail: a message in the conversation it continues, or in a new one."""
    thread = threading.find_thread(uow.session, parsed,
                                   lambda c: _may_write_in(uow.session, c, sender.id),
                                   message_ids)
    conversation, rule, extra = thread.conversation, thread.rule, {}
    if conversation is not None and conversation.is_closed:
        # A closed conversation is final: the reply opens a follow-up.
        conversation, rule, extra = None, ThreadRule.NEW, {"follow_up_of": conversation.id}
    outcome = IntakeOutcome.APPENDED if conversation else IntakeOutcome.NEW_CONVERSATION
    if conversation is None:
        conversation = conversations.open_conversation(
            uow, Actor("customer", sender.id), customer_id=sender.id, channel=Channel.EMAIL,
            subject=threading.without_tags(parsed.subject), queue_id=_queue_id(email))
    message = _post(uow, email, parsed, conversation, sender, {"thread_rule": rule.value,
                                                              **extra}, storage)
    if email.rfc_message_id is not None:  # ``process`` found it in no conversation
        threading.claim_message_id(uow.session, email.rfc_message_id, conversation.id,
                                   message.id)
    _add_participants(uow.session, conversation, parsed)
    _finish(email, outcome, conversation_id=conversation.id, message_id=message.id, rule=rule)


def _post(uow: UnitOfWork, email: InboundEmail, parsed: ParsedEmail,
          conversation: Conversation, sender: Customer, meta: dict[str, Any],
          storage: Path) -> Message:
    """The email as the sender's message, its files attached, its headers in ``meta``."""
    body = _body(parsed)
    files, rejected = _store_attachments(uow.session, storage, conversation,
                                         parsed.attachments)
    meta |= {"email": _email_meta(email, parsed)}
    if parsed.text.strip() and parsed.text.strip() != body:
        meta["full_text"] = parsed.text[:MAX_BODY]
    if rejected:
        meta["rejected_attachments"] = rejected
    if parsed.problems:
        meta["problems"] = parsed.problems
    return conversations.post_message(uow, conversation.id, NewMessage(
        body=body, author=Actor("customer", sender.id), html=parsed.html,
        channel=Channel.EMAIL, client_id=f"email:{email.id}", meta=meta,
        attachment_ids=[f.id for f in files]))


def _record_auto_reply(uow: UnitOfWork, email: InboundEmail, parsed: ParsedEmail,
                       sender: Customer | None, message_ids: threading.MessageIds) -> None:
    """An out-of-office or other automatic answer: in the customer's history, no message."""
    thread = threading.Thread(None, ThreadRule.NEW)
    if sender is not None:
        thread = threading.find_thread(uow.session, parsed,
                                       lambda c: _may_write_in(uow.session, c, sender.id),
                                       message_ids)
        uow.record(events.AutoReplyReceived(
            actor=SYSTEM, customer_id=sender.id, conversation_id=_id_of(thread.conversation),
            channel=Channel.EMAIL.value, inbound_email_id=email.id, subject=parsed.subject,
            reason=parsed.kind_reason))
    _finish(email, IntakeOutcome.AUTO_REPLY, conversation_id=_id_of(thread.conversation),
            rule=_matched(thread), reason=parsed.kind_reason)


def _record_bounce(uow: UnitOfWork, email: InboundEmail, parsed: ParsedEmail,
                   message_ids: threading.MessageIds) -> None:
    """Mail we sent came back: flag the addresses a permanent failure names, and note it in
    the history of their customers (and of the conversation it threads to)."""
    bounce = parsed.bounce or Bounce([], "", "", permanent=False)
    recipients = sorted({r.strip().lower() for r in bounce.recipients})
    identities = list(uow.session.scalars(select(Identity).where(
        Identity.kind == IdentityKind.EMAIL, Identity.value.in_(recipients))))
    owners = {i.customer_id for i in identities}
    returned = replace(parsed, in_reply_to=[*parsed.in_reply_to, *_returned_ids(parsed)])
    thread = threading.find_thread(uow.session, returned,
                                   lambda c: not recipients or c.customer_id in owners,
                                   message_ids)
    if bounce.permanent:
        for identity in identities:
            identity.bouncing = True
    conversation = thread.conversation
    for customer_id in sorted(owners | ({conversation.customer_id} if conversation else set())):
        uow.record(events.EmailBounced(
            actor=SYSTEM, customer_id=customer_id,
            conversation_id=_id_of(conversation) if _owns(conversation, customer_id) else None,
            channel=Channel.EMAIL.value, inbound_email_id=email.id, recipients=recipients,
            status=bounce.status, diagnostic=bounce.diagnostic, permanent=bounce.permanent))
    _finish(email, IntakeOutcome.BOUNCE, conversation_id=_id_of(conversation),
            rule=_matched(thread), reason=parsed.kind_reason)


def _returned_ids(parsed: ParsedEmail) -> list[str]:
    """The Message-ID of the mail a bounce returns (it comes attached, or its headers do)."""
    ids = [threading.normalized_message_id(_header(a.data, "Message-ID"))
           for a in parsed.attachments if a.content_type in RETURNED_TYPES]
    return [i for i in ids if i is not None]


def _finish(email: InboundEmail, outcome: IntakeOutcome, *, conversation_id: int | None = None,
            message_id: int | None = None, rule: ThreadRule | None = None,
            reason: str = "") -> None:
    """The email's outcome, after one attempt more."""
    email.attempts += 1
    email.state = InboundState.PROCESSED
    email.outcome, email.reason = outcome, reason[:MAX_REASON]
    email.conversation_id, email.message_id, email.thread_rule = conversation_id, message_id, rule
    email.processed_at = utcnow()


# --- helpers ------------------------------------------------------------------------------


def _may_write_in(session: Session, conversation: Conversation, customer_id: int) -> bool:
    """Only its customer, or someone copied on it, may add to a conversation by email."""
    return (conversation.customer_id == customer_id
            or conversations.takes_part(session, conversation.id, customer_id))


def _queue_id(email: InboundEmail) -> int | None:
    return email.mailbox.queue_id if email.mailbox else None


def _body(parsed: ParsedEmail) -> str:
    """What the person wrote (quotes and signature cut), within the message size limit."""
    body = parsed.visible_text.strip() or parsed.text.strip() or NO_TEXT
    if len(body) <= MAX_BODY:
        return body
    return body[:MAX_BODY - len(TRUNCATED)] + TRUNCATED


def _store_attachments(session: Session, storage: Path, conversation: Conversation,
                       files: list[ParsedAttachment]) -> tuple[list[Attachment], list[dict]]:
    """Store what the attachment rules accept; list the others with the reason."""
    stored: list[Attachment] = []
    rejected: list[dict[str, Any]] = []
    for file in sorted(files, key=lambda f: f.inline):  # attached files before inline images
        if len(stored) == attachments.MAX_PER_MESSAGE:
            rejected.append(_rejection(file, f"more than {attachments.MAX_PER_MESSAGE} files "
                                             "in one message"))
            continue
        try:
            stored.append(attachments.store_upload(session, storage, conversation,
                                                   file.filename, io.BytesIO(file.data)))
        except (attachments.TooLarge, attachments.UnsupportedType) as exc:
            rejected.append(_rejection(file, exc.message))
    return stored, rejected


def _rejection(file: ParsedAttachment, reason: str) -> dict[str, Any]:
    return {"filename": attachments.safe_filename(file.filename),
            "content_type": file.content_type, "size": len(file.data), "reason": reason}


def _email_meta(email: InboundEmail, parsed: ParsedEmail) -> dict[str, Any]:
    """The headers replies and agents need."""
    return {"inbound_email_id": email.id, "message_id": email.rfc_message_id,
            "subject": parsed.subject, "from": _address(parsed.sender),
            "reply_to": [_address(a) for a in parsed.reply_to],
            "to": [_address(a) for a in parsed.to], "cc": [_address(a) for a in parsed.cc],
            "date": parsed.date.isoformat() if parsed.date else None,
            "in_reply_to": parsed.in_reply_to,
            "references": parsed.references[-threading.MAX_REFERENCES:]}


def _address(address: Address | None) -> dict[str, str] | None:
    return {"name": address.name, "email": address.email} if address else None


def _add_participants(session: Session, conversation: Conversation,
                      parsed: ParsedEmail) -> None:
    """The people copied (Cc) take part: their replies thread to the conversation."""
    if not parsed.cc:
        return
    skipped = {*_our_addresses(session), *_participants(session, conversation.id),
               *conversation.customer.identity_values(IdentityKind.EMAIL)}
    if parsed.sender is not None:
        skipped.add(parsed.sender.email)
    for address in sorted({a.email for a in parsed.cc} - skipped):
        if customers.EMAIL_RE.match(address) and len(address) <= MAX_ADDRESS \
                and not threading.carries_token(address):
            session.add(ConversationParticipant(conversation_id=conversation.id,
                                                email=address))


def _our_addresses(session: Session) -> set[str]:
    return {a.lower() for a in session.scalars(select(Mailbox.address))}


def _participants(session: Session, conversation_id: int) -> set[str]:
    return set(session.scalars(select(ConversationParticipant.email).where(
        ConversationParticipant.conversation_id == conversation_id)))


def _matched(thread: threading.Thread) -> ThreadRule | None:
    """The rule that found a conversation for automatic mail (None: none did)."""
    return thread.rule if thread.conversation is not None else None


def _id_of(conversation: Conversation | None) -> int | None:
    return conversation.id if conversation is not None else None


def _owns(conversation: Conversation | None, customer_id: int) -> bool:
    return conversation is not None and conversation.customer_id == customer_id


def _stored(session: Session, dedup_keys: set[str]) -> dict[str, InboundEmail]:
    """The rows that kept these keys (committed, or inserted by this transaction), by key."""
    if not dedup_keys:
        return {}
    return {e.dedup_key: e for e in session.scalars(
        select(InboundEmail).where(InboundEmail.dedup_key.in_(dedup_keys)))}


def _header(raw: bytes, name: str) -> str | None:
    """One header of the raw message, read without parsing the rest (never raises)."""
    value = BytesHeaderParser().parsebytes(raw).get(name)
    return None if value is None else str(value)
