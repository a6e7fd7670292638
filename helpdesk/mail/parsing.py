"""Raw RFC 822 bytes to a typed, decoded email: no database, no Flask.

The stdlib parser reads the structure with the compat32 policy, which never raises on
malformed input; everything is decoded here with charset fallbacks. Whatever looks wrong is
noted in ``problems`` rather than raised: only a message with nothing readable at all raises
``UnparseableEmail``.
"""

from __future__ import annotations

import binascii
import email
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

import tnefparse

from helpdesk.mail.charsets import decode_bytes, decode_words, fix_raw_bytes
from helpdesk.mail.html_text import html_to_text
from helpdesk.mail.noise import Bounce, MailKind, classify
from helpdesk.mail.visible import visible_text
from helpdesk.sanitize import sanitize_html

__all__ = ["Address", "Bounce", "MailKind", "ParsedAttachment", "ParsedEmail",
           "UnparseableEmail", "parse_email"]

MAX_DEPTH = 30  # nested multiparts deeper than this are not read
MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
UUENCODED = re.compile(r"^begin [0-7]{3,4} ([^\r\n]+)\r?\n(.*?)^end[ \t]*$", re.M | re.S)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
KNOWN_TRANSFER_ENCODINGS = {"7bit", "8bit", "binary", "quoted-printable", "base64",
                            "x-uuencode", "uuencode", "uue", "x-uue"}
# Transfer encodings as some mailers misspell them.
TRANSFER_ENCODING_TYPOS = {"quoted printable": "quoted-printable", "quotedprintable":
                           "quoted-printable", "quoted_printable": "quoted-printable",
                           "qp": "quoted-printable", "base-64": "base64", "8bits": "8bit",
                           "7bits": "7bit"}
TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}


@dataclass(frozen=True)
class Address:
    """A mailbox: display name ('' when none) and lower-cased address."""

    name: str
    email: str


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool
    content_id: str | None


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: Address | None
    reply_to: list[Address]
    to: list[Address]
    cc: list[Address]
    date: datetime | None
    text: str
    html: str | None
    visible_text: str
    attachments: list[ParsedAttachment]
    headers: dict[str, list[str]]
    kind: MailKind
    kind_reason: str
    bounce: Bounce | None
    problems: list[str]


class UnparseableEmail(ValueError):
    """Nothing usable could be read from the bytes given; the message says why."""


@dataclass
class _Content:
    """What a MIME subtree holds: text bodies in reading order, and attachments."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)

    def add(self, other: _Content) -> None:
        self.plain += other.plain
        self.html += other.html
        self.attachments += other.attachments


def parse_email(raw: bytes) -> ParsedEmail:
    """Decode ``raw`` (one RFC 822 message); raises ``UnparseableEmail`` when nothing in it
    can be read."""
    message = _read(raw)
    problems: list[str] = []
    headers = _decoded_headers(message, problems)
    content = _content(message, problems, depth=0)
    problems.extend(_defects(message))
    text = _readable_text(content)
    if not headers and not text.strip() and not content.attachments:
        raise UnparseableEmail("no header, text or attachment could be read from the message")
    kind = classify(message, headers, text)
    senders = _addresses(message, "from", problems)
    return ParsedEmail(
        message_id=_message_id(message, problems),
        in_reply_to=_ids(message, "in-reply-to", problems),
        references=_ids(message, "references", problems), subject=_subject(headers),
        sender=senders[0] if senders else None,
        reply_to=_addresses(message, "reply-to", problems),
        to=_addresses(message, "to", problems), cc=_addresses(message, "cc", problems),
        date=_date(message, problems), text=text,
        html=sanitize_html("\n".join(content.html)) if content.html else None,
        visible_text=visible_text(text), attachments=content.attachments, headers=headers,
        kind=kind.kind, kind_reason=kind.reason, bounce=kind.bounce,
        problems=list(dict.fromkeys(problems)))


def _read(raw: bytes) -> Message:
    """The parsed message; the parser itself never raises on malformed input."""
    if not isinstance(raw, bytes | bytearray):
        raise UnparseableEmail(f"expected the message's bytes, got {type(raw).__name__}")
    if not raw.strip():
        raise UnparseableEmail("the message is empty")
    try:
        return email.message_from_bytes(bytes(raw), policy=policy.compat32)
    except RecursionError:  # the parser recurses once per nested multipart
        raise UnparseableEmail("MIME parts are nested too deeply to be read") from None


# --- headers ------------------------------------------------------------------------------


def _raw_values(message: Message, name: str, problems: list[str]) -> list[str]:
    """A header's values unfolded, 8-bit bytes decoded, encoded words left as they are."""
    return [_unfold(fix_raw_bytes(str(value), problems, name))
            for key, value in message.raw_items() if key.lower() == name]


def _decoded_headers(message: Message, problems: list[str]) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for key, value in message.raw_items():
        name = key.lower().strip()
        text = _unfold(fix_raw_bytes(str(value), problems, name))
        headers.setdefault(name, []).append(decode_words(text, problems, name))
    return headers


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).strip()


def _subject(headers: dict[str, list[str]]) -> str:
    return " ".join(headers.get("subject", [""])[0].split())


def _addresses(message: Message, name: str, problems: list[str]) -> list[Address]:
    """The mailboxes of a header; names decoded, groups flattened, invalid ones noted."""
    found = []
    for display, address in getaddresses(_raw_values(message, name, problems)):
        if "@" in address:
            found.append(Address(" ".join(decode_words(display, problems, name).split()),
                                 address.strip().lower()))
        elif address.strip():
            problems.append(f"{name}: not an email address: {address.strip()!r}")
    return found


def _ids(message: Message, name: str, problems: list[str]) -> list[str]:
    """The message ids a header lists, without their angle brackets (bare ids accepted)."""
    values = " ".join(_raw_values(message, name, problems))
    ids = MESSAGE_ID.findall(values)
    return ids or [token for token in values.split() if "@" in token]


def _message_id(message: Message, problems: list[str]) -> str | None:
    values = _raw_values(message, "message-id", problems)
    ids = _ids(message, "message-id", problems)
    if not values:
        problems.append("no Message-ID header")
    elif not ids:
        problems.append(f"invalid Message-ID: {values[0]!r}")
    return ids[0] if ids else None


def _date(message: Message, problems: list[str]) -> datetime | None:
    """The Date header in UTC (a date without a zone is taken as UTC)."""
    value = message.get("date")
    if value is None:
        problems.append("no Date header")
        return None
    try:
        date = parsedate_to_datetime(_unfold(str(value)))
    except (TypeError, ValueError, IndexError, OverflowError):
        problems.append(f"unreadable Date: {str(value).strip()!r}")
        return None
    return (date if date.tzinfo else date.replace(tzinfo=UTC)).astimezone(UTC)


# --- MIME tree ----------------------------------------------------------------------------


def _content(part: Message, problems: list[str], depth: int) -> _Content:
    """The text bodies and attachments of ``part`` and all below it."""
    if depth > MAX_DEPTH:
        problems.append(f"MIME parts nested deeper than {MAX_DEPTH} levels were not read")
        return _Content()
    payload = part.get_payload()
    if part.get_content_maintype() == "multipart" and isinstance(payload, list):
        children = [_content(child, problems, depth + 1) for child in payload]
        if part.get_content_type() == "multipart/alternative":
            return _alternative(children)
        merged = _Content()
        for child in children:
            merged.add(child)
        return merged
    if part.get_content_maintype() == "message":
        return _Content(attachments=[_attached_message(part, problems)])
    return _leaf(part, problems)


def _alternative(children: list[_Content]) -> _Content:
    """One rendering of each kind: the first plain text, the last (richest) HTML; the
    attachments of all (the HTML's inline images are often in its own branch)."""
    chosen = _Content(plain=next((c.plain for c in children if c.plain), []),
                      html=next((c.html for c in reversed(children) if c.html), []))
    for child in children:
        chosen.attachments += child.attachments
    return chosen


def _leaf(part: Message, problems: list[str]) -> _Content:
    """A single part: a text body, or one or more attachments."""
    content_type = part.get_content_type()
    where = f"{content_type} part"
    data = _payload(part, problems, where)
    if part.get_content_maintype() == "multipart":  # its boundary is missing or broken
        problems.append(f"{content_type} without readable parts: read as text")
        content_type = "text/plain"
    elif not _is_body(part):
        return _Content(attachments=_attachments(part, data, problems))
    text = _unflowed(part, _clean_text(decode_bytes(data, part.get_content_charset(),
                                                    problems, where)))
    if content_type == "text/html":
        return _Content(html=[text])
    text, uuencoded = _uuencoded_files(text, problems)
    return _Content(plain=[text], attachments=uuencoded)


def _is_body(part: Message) -> bool:
    """Text meant to be read in the message, not a file attached to it."""
    return (part.get_content_type() in ("text/plain", "text/html")
            and part.get_content_disposition() != "attachment" and not part.get_filename())


def _payload(part: Message, problems: list[str], where: str) -> bytes:
    """The part's bytes with its transfer encoding undone."""
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    if encoding in TRANSFER_ENCODING_TYPOS:
        problems.append(f"{where}: Content-Transfer-Encoding {encoding!r} read as "
                        f"{TRANSFER_ENCODING_TYPOS[encoding]}")
        encoding = TRANSFER_ENCODING_TYPOS[encoding]
    elif encoding and encoding not in KNOWN_TRANSFER_ENCODINGS:
        problems.append(f"{where}: unknown Content-Transfer-Encoding {encoding!r}, "
                        "read as is")
    if encoding and encoding != str(part.get("content-transfer-encoding")):
        part.replace_header("content-transfer-encoding", encoding)  # the decoder is strict
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _clean_text(text: str) -> str:
    """Unix line ends and no control characters other than tab and newline."""
    return CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _unflowed(part: Message, text: str) -> str:
    """RFC 3676 format=flowed text with its soft line breaks joined."""
    if str(part.get_param("format", "")).lower() != "flowed":
        return text
    delete_space = str(part.get_param("delsp", "")).lower() == "yes"
    lines: list[str] = []
    for line in text.split("\n"):
        previous = lines[-1] if lines else ""
        if (previous.endswith(" ") and previous != "-- " and _quote_depth(previous)
                == _quote_depth(line)):
            body = line.lstrip(">")
            body = body[1:] if body.startswith(" ") and _quote_depth(line) else body
            lines[-1] = (previous[:-1] if delete_space else previous) + body
        else:
            lines.append(line)
    return "\n".join(lines)


def _quote_depth(line: str) -> int:
    return len(line) - len(line.lstrip(">"))


def _defects(message: Message) -> list[str]:
    """What the stdlib parser found malformed, one line per kind of defect."""
    found = []
    for part in message.walk():
        for defect in part.defects:
            doc = (type(defect).__doc__ or type(defect).__name__).strip().splitlines()[0]
            found.append(f"MIME: {doc.rstrip('.')}")
    return found


def _readable_text(content: _Content) -> str:
    """The plain-text bodies, or the HTML ones made readable when there is no plain text."""
    if content.plain:
        return "\n\n".join(text.strip("\n") for text in content.plain).strip("\n")
    return "\n\n".join(html_to_text(html) for html in content.html)


# --- attachments --------------------------------------------------------------------------


def _attachments(part: Message, data: bytes, problems: list[str]) -> list[ParsedAttachment]:
    """The part as an attachment; a TNEF (winmail.dat) one unpacked when it can be."""
    content_type = part.get_content_type()
    content_id = _content_id(part)
    disposition = part.get_content_disposition()
    attachment = ParsedAttachment(
        filename=_filename(part, problems) or _default_filename(content_type),
        content_type=content_type, data=data,
        inline=disposition == "inline" or (content_id is not None and disposition is None),
        content_id=content_id)
    if content_type in TNEF_TYPES or attachment.filename.lower() == "winmail.dat":
        return _tnef_files(attachment, problems)
    return [attachment]


def _attached_message(part: Message, problems: list[str]) -> ParsedAttachment:
    """A message/* part (a forwarded or returned message, a delivery report) kept whole."""
    content_type = part.get_content_type()
    payload = part.get_payload()
    inner = payload if isinstance(payload, list) else []
    if inner:
        data = b"\n".join(_message_bytes(m, problems) for m in inner if isinstance(m, Message))
    else:
        data = part.get_payload(decode=True) or b""
    return ParsedAttachment(
        filename=_filename(part, problems) or _default_filename(content_type),
        content_type=content_type, data=data,
        inline=part.get_content_disposition() == "inline", content_id=_content_id(part))


def _message_bytes(message: Message, problems: list[str]) -> bytes:
    """An inner message written back as bytes (as text when its bytes cannot be)."""
    try:
        return message.as_bytes(policy=policy.compat32)
    except (UnicodeError, LookupError, ValueError, TypeError) as error:
        problems.append(f"attached message rewritten as text: {error}")
        return message.as_string(policy=policy.compat32).encode("utf-8", "surrogateescape")


def _filename(part: Message, problems: list[str]) -> str | None:
    """The file name (RFC 2231 or RFC 2047 encoded, or raw 8-bit), without any folder."""
    # The parser would turn raw 8-bit bytes in a parameter into U+FFFD: read the decoded
    # headers into a blank message to get its parameters.
    probe = Message()
    for header in ("content-disposition", "content-type"):
        probe[header] = next(iter(_raw_values(part, header, problems)), "")
    name = probe.get_filename()
    if not name:
        return None
    return _safe_name(decode_words(name, problems, "file name")) or None


def _safe_name(name: str) -> str:
    """A file name without control characters nor folders, at most 255 characters."""
    return CONTROL.sub("", name).replace("\\", "/").rsplit("/", 1)[-1].strip()[:255]


def _default_filename(content_type: str) -> str:
    maintype = content_type.split("/", 1)[0]
    extension = mimetypes.guess_extension(content_type) or (
        ".txt" if maintype in ("text", "message") else ".bin")
    return f"attachment{extension}"


def _content_id(part: Message) -> str | None:
    value = part.get("content-id")
    cid = str(value).strip().strip("<>").strip() if value is not None else ""
    return cid or None


def _uuencoded_files(text: str, problems: list[str]) -> tuple[str, list[ParsedAttachment]]:
    """Files uuencoded in a plain-text body, cut out of it and decoded."""
    files = []
    for match in UUENCODED.finditer(text):
        data = _uudecode(match.group(2), problems)
        if data is not None:
            filename = _safe_name(match.group(1)) or "attachment.bin"
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            files.append(ParsedAttachment(filename, content_type, data, False, None))
    if files:
        text = re.sub(r"\n{3,}", "\n\n", UUENCODED.sub("", text)).strip("\n")
    return text, files


def _uudecode(block: str, problems: list[str]) -> bytes | None:
    """The bytes of a uuencoded block's lines (None when they are not uuencode)."""
    decoded = []
    for line in block.encode("latin-1", "replace").splitlines():
        if not line.strip():
            continue
        try:
            decoded.append(binascii.a2b_uu(line))
        except binascii.Error:
            length = (((line[0] - 32) & 63) * 4 + 5) // 3  # encoders that pad oddly
            try:
                decoded.append(binascii.a2b_uu(line[:length]))
            except binascii.Error:
                problems.append("uuencoded block unreadable: kept in the text")
                return None
    return b"".join(decoded)


def _tnef_files(attachment: ParsedAttachment, problems: list[str]) -> list[ParsedAttachment]:
    """The files inside a TNEF attachment, or the attachment itself when it holds none."""
    try:
        tnef = tnefparse.TNEF(attachment.data, do_checksum=False)
        files = [_tnef_file(f.long_filename(), f.data, problems)
                 for f in tnef.attachments if f.data]
    except (ValueError, IndexError, KeyError, TypeError, UnicodeError, LookupError) as error:
        problems.append(f"{attachment.filename}: TNEF unreadable ({error}), kept as is")
        return [attachment]
    return files or [attachment]


def _tnef_file(name: str | bytes, data: bytes, problems: list[str]) -> ParsedAttachment:
    """One file unpacked from a TNEF attachment (its name may come as bytes)."""
    if isinstance(name, bytes):
        name = decode_bytes(name, None, problems, "TNEF file name")
    filename = _safe_name(name) or "attachment.bin"
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return ParsedAttachment(filename, content_type, data, False, None)
