"""Files customers and agents attach: checked by content, stored outside the web root.

The type is read from the file's first bytes, never from its name or the browser's claim;
the stored name is random; downloads are always served as attachments (never rendered).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.models import Attachment, Conversation

MAX_SIZE = 10 * 1024 * 1024
MAX_PER_MESSAGE = 5
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


class TooLarge(DomainError):
    code = "too_large"
    status = 413


class UnsupportedType(DomainError):
    code = "unsupported_type"
    status = 415


def store_upload(session: Session, storage: Path, conversation: Conversation, filename: str,
                 stream: BinaryIO) -> Attachment:
    """Check and store one uploaded file for ``conversation``; the caller commits."""
    data = stream.read(MAX_SIZE + 1)
    if len(data) > MAX_SIZE:
        raise TooLarge(f"a file is at most {MAX_SIZE // (1024 * 1024)} MiB", field="file")
    content_type = detected_type(data)
    relative = Path(secrets.token_hex(2)) / secrets.token_hex(16)
    (storage / relative).parent.mkdir(parents=True, exist_ok=True)
    (storage / relative).write_bytes(data)
    attachment = Attachment(conversation_id=conversation.id, filename=safe_filename(filename),
                            content_type=content_type, size=len(data),
                            sha256=hashlib.sha256(data).hexdigest(),
                            storage_path=str(relative))
    session.add(attachment)
    session.flush()
    return attachment


def detected_type(data: bytes) -> str:
    """The content type the bytes prove: PNG, JPEG, GIF, WebP, PDF or UTF-8 text."""
    for signature, content_type in SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if _is_text(data):
        return "text/plain"
    raise UnsupportedType("only images (PNG, JPEG, GIF, WebP), PDF and plain text are "
                          "accepted", field="file")


def safe_filename(name: str) -> str:
    """The name to show: no path, no control characters, at most 255 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip(" .")
    return cleaned[:255] or "file"


def claim_for_message(session: Session, conversation_id: int, ids: object,
                      message_id: int) -> None:
    """Link uploaded files of this conversation to the message that sends them."""
    if not isinstance(ids, list) or len(ids) > MAX_PER_MESSAGE or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValidationFailed(f"attachments must be a list of at most {MAX_PER_MESSAGE} ids",
                               field="attachments")
    found = list(session.scalars(select(Attachment).where(
        Attachment.id.in_(ids), Attachment.conversation_id == conversation_id,
        Attachment.message_id.is_(None))))
    if len(found) != len(set(ids)):
        raise ValidationFailed("unknown or already sent attachment", field="attachments")
    for attachment in found:
        attachment.message_id = message_id


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
