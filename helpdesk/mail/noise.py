"""Mail no person wrote: bounces, auto-replies, read receipts, complaints.

``classify`` tells a normal message from the rest and names the rule that decided. Bounces
are read from RFC 3464 delivery-status reports when there is one, else from the common
non-standard notices (Postfix, Exim, Gmail, qmail, Exchange/Office 365).
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value
from enum import StrEnum


class MailKind(StrEnum):
    NORMAL = "normal"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"


@dataclass(frozen=True)
class Bounce:
    """Who could not be reached and why; ``permanent`` when retrying will not help."""

    recipients: list[str]
    status: str
    diagnostic: str
    permanent: bool


@dataclass(frozen=True)
class Classification:
    kind: MailKind
    reason: str
    bounce: Bounce | None = None


NORMAL = Classification(MailKind.NORMAL, "no sign of an automatic message")
MAILER_DAEMON = re.compile(r"\bmail(er)?-?daemon\b", re.I)
DAEMON = re.compile(r"\b(mailer-daemon|mail-daemon|mailerdaemon|postmaster)\b", re.I)
DAEMON_NAME = re.compile(r"mail delivery (subsystem|system)", re.I)
BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliver|undelivered mail|delivery status notification \((failure|delay)\)"
    r"|mail delivery failed|delivery failure|failure notice|returned mail"
    r"|mail system error|delivery has failed|delayed mail|warning: could not send"
    r"|non remis|non distribuable|échec de (la )?(remise|distribution)"
    r"|message non délivré|unzustellbar|nondeliverable)", re.I)
TEMPORARY = re.compile(r"\b(delay(ed)?|warning|retr(y|ied|ying)|temporar(y|ily)|deferred)\b",
                       re.I)
STATUS_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
FAILURE = re.compile(r"\b(fail(ed|ure)?|error|unknown|does not exist|rejected|refused|full"
                     r"|quota|denied|timed out|not found|unreachable|undeliverable)\b", re.I)
SMTP_REPLY = re.compile(r"\b[45]\d\d[ -]")
# Bounded parts keep the search linear on long runs of word characters.
ADDRESS = re.compile(r"[\w.+=!#$%&'*/?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
# Where a notice stops and the returned message (whose addresses don't count) starts.
ORIGINAL_MARKER = re.compile(
    r"^\s*(-+ ?original message|original message follows|-+ ?this is a copy of"
    r"|-+ ?below this line is a copy|-+ ?the header of the original|return-path:|received:)",
    re.I | re.M)
AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-autoresponse")
AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
OUT_OF_OFFICE = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|autoresponse|auto[- ]?response|out of (the )?office"
    r"|réponse automatique|reponse automatique|absent du bureau|absence|absent(e)? jusqu"
    r"|abwesenheitsnotiz|respuesta automática|risposta automatica|on vacation"
    r"|vacation reply|away from (the|my) (office|desk))\b"
    r"|\bout of (the )?office\b|\bréponse automatique\b|\bautomatic reply\b", re.I)


def classify(message: Message, headers: dict[str, list[str]], text: str) -> Classification:
    """What kind of mail ``message`` is: a bounce, an automatic reply, or normal."""
    return (_bounce(message, headers, text) or _report(message)
            or _auto_reply(headers) or NORMAL)


# --- bounces ------------------------------------------------------------------------------


def _bounce(message: Message, headers: dict[str, list[str]], text: str) -> Classification | None:
    reason = _bounce_reason(message, headers, text)
    if reason is None:
        return None
    recipients = _dsn_recipients(message)
    bounce = _dsn_bounce(recipients) if recipients else _notice_bounce(headers, text)
    if not bounce.diagnostic:
        bounce = Bounce(bounce.recipients, bounce.status, _diagnostic(text), bounce.permanent)
    return Classification(MailKind.BOUNCE, reason, bounce)


def _bounce_reason(message: Message, headers: dict[str, list[str]], text: str) -> str | None:
    """The rule that makes ``message`` a bounce, or None."""
    subject, sender = _first(headers, "subject"), _first(headers, "from")
    automatic = _first(headers, "return-path").strip() == "<>" or "auto-submitted" in headers
    rules = [
        ("delivery-status" in _report_types(message),
         "multipart/report; report-type=delivery-status"),
        (any(p.get_content_type() == "message/delivery-status" for p in _parts(message)),
         "message/delivery-status part"),
        ("x-failed-recipients" in headers, "X-Failed-Recipients header"),
        ("x-ms-exchange-message-is-ndr" in headers, "Exchange NDR (X-MS-Exchange-Message-Is-Ndr)"),
        ("qmail-send program" in text, "qmail failure notice"),
        (bool(MAILER_DAEMON.search(sender)), "sender MAILER-DAEMON"),
        ((bool(DAEMON.search(sender) or DAEMON_NAME.search(sender)) or automatic)
         and bool(BOUNCE_SUBJECT.search(subject)), f"delivery failure notice: {subject!r}"),
    ]
    return next((reason for matched, reason in rules if matched), None)


def _dsn_recipients(message: Message) -> list[Message]:
    """The per-recipient field blocks of every delivery-status part."""
    return [block for part in _parts(message)
            if part.get_content_type() == "message/delivery-status"
            for block in _field_blocks(part)
            if block.get("final-recipient") or block.get("original-recipient")]


def _field_blocks(part: Message) -> list[Message]:
    """A delivery-status part's field groups (the parser may have split them or not)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = payload if isinstance(payload, str) else ""
    return [email.message_from_string(block) for block in re.split(r"\n\s*\n", text)]


def _dsn_bounce(blocks: list[Message]) -> Bounce:
    """The bounce a delivery-status report describes; status and diagnostic are the first
    failed recipient's."""
    recipients = list(dict.fromkeys(_address_field(b) for b in blocks if _address_field(b)))
    failed = [b for b in blocks if _field(b, "action").lower() == "failed"] or blocks
    status = _field(failed[0], "status").split()[0] if _field(failed[0], "status") else ""
    diagnostic = re.sub(r"^\s*smtp\s*;\s*", "", _field(failed[0], "diagnostic-code"), flags=re.I)
    action = _field(failed[0], "action").lower()
    permanent = status.startswith("5") or (not status and action == "failed")
    return Bounce(recipients, status, diagnostic, permanent)


def _notice_bounce(headers: dict[str, list[str]], text: str) -> Bounce:
    """The bounce a free-text notice describes, as far as it can be read."""
    notice = ORIGINAL_MARKER.split(text, maxsplit=1)[0]
    status_match = STATUS_CODE.search(notice)
    status = status_match.group(0) if status_match else ""
    temporary = status.startswith("4") or (not status and bool(TEMPORARY.search(
        _first(headers, "subject") + "\n" + notice)))
    return Bounce(_notice_recipients(headers, notice), status, _diagnostic(notice),
                  not temporary)


def _notice_recipients(headers: dict[str, list[str]], notice: str) -> list[str]:
    """X-Failed-Recipients, else the addresses the notice names (not the daemon's own, nor
    the bounced sender's)."""
    failed = ",".join(headers.get("x-failed-recipients", []))
    if failed.strip():
        return list(dict.fromkeys(m.group(0).lower() for m in ADDRESS.finditer(failed)))
    own = {m.group(0).lower() for name in ("from", "to", "reply-to")
           for value in headers.get(name, []) for m in ADDRESS.finditer(value)}
    found = (m.group(0).lower() for m in ADDRESS.finditer(notice))
    return list(dict.fromkeys(a for a in found if a not in own and not DAEMON.search(a)))


def _diagnostic(text: str) -> str:
    """The line of a notice that says what the remote server answered, else the first one
    that names a failure."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    said = [line for line in lines if SMTP_REPLY.search(line) or STATUS_CODE.search(line)]
    failed = [line for line in lines if FAILURE.search(line)]
    return next(iter(said or failed), "")[:500]


def _address_field(block: Message) -> str:
    value = _field(block, "final-recipient") or _field(block, "original-recipient")
    return value.split(";", 1)[-1].strip().strip("<>").lower()


def _field(block: Message, name: str) -> str:
    return " ".join(str(block.get(name, "")).split())


# --- reports and auto-replies -------------------------------------------------------------


def _report(message: Message) -> Classification | None:
    """Read receipts and spam complaints: automatic, though not bounces."""
    types = _report_types(message) | {p.get_content_type() for p in _parts(message)}
    if types & {"disposition-notification", "message/disposition-notification"}:
        return Classification(MailKind.AUTO_REPLY, "read receipt (disposition-notification)")
    if types & {"feedback-report", "message/feedback-report"}:
        return Classification(MailKind.AUTO_REPLY, "complaint (feedback-report)")
    return None


def _auto_reply(headers: dict[str, list[str]]) -> Classification | None:
    """RFC 3834 and the headers auto-responders and lists add, then the subject."""
    submitted = _first(headers, "auto-submitted").strip()
    if submitted and re.split(r"[\s;(]", submitted.lower(), maxsplit=1)[0] != "no":
        return _auto(f"Auto-Submitted: {submitted}")
    for name in AUTO_HEADERS:
        value = _first(headers, name).strip()
        if name in headers and value.lower() not in ("no", "false", "0"):
            return _auto(f"{name.title()}: {value}".strip())
    precedence = _first(headers, "precedence").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return _auto(f"Precedence: {precedence}")
    if "list-id" in headers:
        return _auto(f"List-Id: {_first(headers, 'list-id').strip()}")
    subject = _first(headers, "subject")
    if OUT_OF_OFFICE.search(subject):
        return _auto(f"out-of-office subject: {subject.strip()!r}")
    return None


def _auto(reason: str) -> Classification:
    return Classification(MailKind.AUTO_REPLY, reason)


# --- helpers ------------------------------------------------------------------------------


def _parts(message: Message) -> list[Message]:
    """``message`` and its MIME parts, not looking inside attached messages."""
    found = [message]
    payload = message.get_payload()
    if message.get_content_maintype() == "multipart" and isinstance(payload, list):
        for child in payload:
            if isinstance(child, Message):
                found.extend(_parts(child))
    return found


def _report_types(message: Message) -> set[str]:
    """The report-type of every multipart/report in ``message``."""
    return {collapse_rfc2231_value(part.get_param("report-type", "")).strip().lower()
            for part in _parts(message) if part.get_content_type() == "multipart/report"}


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""
