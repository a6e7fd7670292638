"""Outgoing email without a database: the templates a mail is rendered from, the MIME
message built from an outbox row, and the mailers that hand it to an SMTP server.

``render_mail`` renders ``helpdesk/templates/mail/<kind>.txt`` (which sets the subject) and
``<kind>.html`` in the customer's language. ``build_mime`` turns an ``OutboundEmail`` into
the message sent. A ``Mailer`` sends it: ``SmtpMailer`` in production, a fake in tests.
"""

from __future__ import annotations

import re
import secrets
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from config.settings import Settings
from helpdesk.models import MailboxSecurity, OutboundEmail, OutboundKind

HELPDESK = Path(__file__).resolve().parents[1]
TEMPLATES = HELPDESK / "templates" / "mail"
TRANSLATIONS = HELPDESK / "translations"
DEFAULT_TIMEOUT = 30.0  # seconds an SMTP connection or command may take
PARAGRAPH_BREAK = re.compile(r"\n(?:[ \t]*\n)+")


class SendFailed(Exception):
    """The mail was not handed over; ``permanent``: trying again will not help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Mailer(Protocol):
    def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> dict[str, str]:
        """Hand ``message`` over for ``recipients``; return those refused while others were
        accepted (address → reason). Raise ``SendFailed`` when it was not sent at all."""
        ...


# --- rendering ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def render_mail(kind: OutboundKind, locale: str, context: Mapping[str, Any]) -> RenderedMail:
    """The ``kind`` mail in ``locale``: its text template sets ``subject``; the HTML one
    escapes every value it is given."""
    environment = _environment(locale)
    text = environment.get_template(f"{kind.value}.txt").make_module(dict(context))
    subject = " ".join(str(text.subject).split())  # one line, whatever the template did
    html = environment.get_template(f"{kind.value}.html").render(
        {**context, "subject": subject, "lang": locale})
    return RenderedMail(subject, str(text).strip() + "\n", html)


def paragraphs(text: str) -> list[list[str]]:
    """Plain text as paragraphs of lines (blank lines part them), for an HTML part."""
    blocks = PARAGRAPH_BREAK.split(text.strip().replace("\r\n", "\n"))
    return [block.splitlines() for block in blocks if block.strip()]


@cache
def _environment(locale: str) -> Environment:
    """Mail templates with the locale's catalog: ``.html`` autoescaped, ``.txt`` not."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"])
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        Translations.load(str(TRANSLATIONS), [locale]), newstyle=True)
    return environment


# --- the message --------------------------------------------------------------------------


def new_message_id(from_address: str, conversation_id: int) -> str:
    """A fresh Message-ID (without angle brackets) at the sender's domain."""
    domain = from_address.rpartition("@")[2] or "comptoir.invalid"
    return f"comptoir.{conversation_id}.{secrets.token_hex(12)}@{domain}"


def build_mime(mail: OutboundEmail, now: datetime) -> EmailMessage:
    """The message to send: threading headers, a text and an HTML part."""
    message = EmailMessage()
    message["From"] = Address(mail.from_name, addr_spec=mail.from_address)
    message["To"] = mail.to_address
    if mail.cc_addresses:
        message["Cc"] = ", ".join(mail.cc_addresses)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{mail.rfc_message_id}>"
    _add_thread_headers(message, mail)
    if mail.auto_submitted:
        message["Auto-Submitted"] = "auto-replied"  # RFC 3834: robots must not answer
        message["X-Auto-Response-Suppress"] = "All"  # the same, for Exchange
    # Quoted-printable passes any server, 8BITMIME or not.
    message.set_content(mail.text, cte="quoted-printable")
    message.add_alternative(mail.html, subtype="html", cte="quoted-printable")
    return message


def _add_thread_headers(message: EmailMessage, mail: OutboundEmail) -> None:
    if mail.in_reply_to:
        message["In-Reply-To"] = f"<{mail.in_reply_to}>"
    if mail.references:
        message["References"] = " ".join(f"<{r}>" for r in mail.references)


# --- SMTP ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpMailer:
    """Sends over SMTP: implicit TLS, STARTTLS or plain; logs in when given a username."""

    host: str
    port: int
    security: MailboxSecurity = MailboxSecurity.STARTTLS
    username: str = ""
    password: str = ""
    timeout: float = DEFAULT_TIMEOUT
    tls_context: ssl.SSLContext | None = None  # None: the system's trusted authorities

    def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> dict[str, str]:
        """One connection per mail: a broken one never holds up the next mail."""
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(message, sender, recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            raise SendFailed(_refusals(exc.recipients),
                             permanent=all(code >= 500 for code in codes)) from exc
        except smtplib.SMTPResponseException as exc:
            rejected = isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500
            raise SendFailed(_reply(exc.smtp_code, exc.smtp_error), permanent=rejected) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"{self.host}:{self.port}: {type(exc).__name__}: {exc}") from exc
        return {address: _reply(code, text) for address, (code, text) in refused.items()}

    def _connect(self) -> smtplib.SMTP:
        context = self.tls_context or ssl.create_default_context()
        if self.security == MailboxSecurity.TLS:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == MailboxSecurity.STARTTLS:
            try:
                smtp.starttls(context=context)
            except BaseException:
                smtp.close()
                raise
        return smtp


def mailer_from_settings(settings: Settings) -> SmtpMailer | None:
    """The configured SMTP mailer; None when ``smtp_host`` is empty (mail stays queued)."""
    if not settings.smtp_host:
        return None
    return SmtpMailer(settings.smtp_host, settings.smtp_port,
                      MailboxSecurity(settings.smtp_security), settings.smtp_username,
                      settings.smtp_password)


def refusals_text(refused: Mapping[str, str]) -> str:
    """``a@x: 550 …; b@y: 451 …`` — what the server said about each refused recipient."""
    return "; ".join(f"{address}: {reason}" for address, reason in sorted(refused.items()))


def _refusals(recipients: Mapping[str, tuple[int, bytes | str]]) -> str:
    return refusals_text({a: _reply(code, text) for a, (code, text) in recipients.items()})


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}"
