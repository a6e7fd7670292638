"""Incoming email, parsed without a database: ``parse_email`` turns raw RFC 822 bytes into a
``ParsedEmail`` (decoded headers and bodies, attachments, the new text, bounce and
auto-reply classification)."""

from helpdesk.mail.parsing import (
    Address,
    Bounce,
    MailKind,
    ParsedAttachment,
    ParsedEmail,
    UnparseableEmail,
    parse_email,
)

__all__ = ["Address", "Bounce", "MailKind", "ParsedAttachment", "ParsedEmail",
           "UnparseableEmail", "parse_email"]
