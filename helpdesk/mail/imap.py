"""Mail from IMAP mailboxes.

``ImapSource`` reads one folder by UID over imaplib (TLS, STARTTLS or plain, with timeouts),
read-only, and can wait for news with IDLE (RFC 2177). ``poll`` brings a mailbox's new mail
into the intake a FETCH at a time: store the raw emails and remember their UIDs in one
transaction, then process them one by one.
A crash at any point loses nothing and doubles nothing: a UID not remembered is fetched
again and the intake's dedup finds the email stored; an email stored but not processed is
processed by the next poll. One poller holds a mailbox at a time (``mailbox_lease``); the
dedup is the second guard.
"""

from __future__ import annotations

import fcntl
import imaplib
import itertools
import logging
import re
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from helpdesk.errors import DomainError
from helpdesk.extensions import db, unit_of_work
from helpdesk.mail import intake
from helpdesk.mail.secrets import decrypt_secret
from helpdesk.models import InboundSource, Mailbox, MailboxSecurity
from helpdesk.services import email_intake, mailboxes
from helpdesk.services.common import get_or_404
from helpdesk.services.email_intake import Source

log = logging.getLogger(__name__)

TIMEOUT = 30.0  # seconds to connect, and to wait for each answer
FETCH_BATCH = 25  # messages per FETCH: few round trips, bounded memory
LOCK_SPACE = 0x636D7074  # "cmpt": keeps these advisory locks apart from other users'
UID_RE = re.compile(rb"\bUID (\d+)", re.IGNORECASE)
NEWS_RE = re.compile(rb"^\* \d+ EXISTS", re.IGNORECASE)
_idle_tags = (f"CIDLE{n}".encode() for n in itertools.count(1))


class MailboxUnreachable(DomainError):
    """The server could not be reached, or refused the login, the folder or a command."""

    code = "mailbox_unreachable"
    status = 502


@dataclass(frozen=True)
class ImapSettings:
    """Where and as whom to read mail."""

    host: str
    port: int
    security: MailboxSecurity
    username: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    timeout: float = TIMEOUT

    @classmethod
    def of(cls, mailbox: Mailbox) -> ImapSettings:
        """A mailbox's settings, the password decrypted (SecretUnreadable if it cannot be)."""
        return cls(mailbox.imap_host, mailbox.imap_port, mailbox.imap_security,
                   mailbox.imap_username, decrypt_secret(mailbox.password_encrypted),
                   mailbox.imap_folder)


@dataclass(frozen=True)
class FolderStatus:
    messages: int
    uid_validity: int


class ImapSource:
    """One logged-in session on a folder, selected read-only: flags stay as they are."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.status = FolderStatus(0, 0)
        self._imap: imaplib.IMAP4 | None = None

    def __enter__(self) -> ImapSource:
        self.open()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Connect, log in and select the folder; MailboxUnreachable names the failed step."""
        settings = self.settings
        self._imap = imap = self._connect()
        try:
            if settings.security == MailboxSecurity.STARTTLS:
                self._run(f"STARTTLS failed with {settings.host}", imap.starttls,
                          ssl.create_default_context())
            self._run(f"the server refused the login of {settings.username}", imap.login,
                      settings.username, settings.password)
            self.status = self._select()
        except MailboxUnreachable:
            self.close()
            raise

    def close(self) -> None:
        imap, self._imap = self._imap, None
        if imap is not None:
            try:
                imap.logout()
            except (imaplib.IMAP4.error, OSError):
                with suppress(OSError):  # the session is gone: free the socket all the same
                    imap.shutdown()

    def interrupt(self) -> None:
        """End a wait from another thread (the waiting call then raises)."""
        imap = self._imap
        if imap is not None:
            with suppress(OSError):  # already closed
                imap.socket().shutdown(socket.SHUT_RDWR)

    def reference(self, uid: int) -> str:
        """The message's IMAP URL (RFC 5092), recorded as where the email came from."""
        settings = self.settings
        return (f"imap://{quote(settings.username, safe='')}@{settings.host}/"
                f"{quote(settings.folder)};UIDVALIDITY={self.status.uid_validity}/;UID={uid}")

    def uids_after(self, last_uid: int) -> list[int]:
        """The folder's UIDs above ``last_uid``, ascending."""
        data = self._run("cannot search the folder", self._connected().uid, "SEARCH", None,
                         f"UID {last_uid + 1}:*")
        uids = sorted({int(n) for part in data if part for n in part.split()})
        return [uid for uid in uids if uid > last_uid]  # "n:*" also names the last one below n

    def fetch(self, uids: Sequence[int]) -> Iterator[list[tuple[int, bytes]]]:
        """Batches of (UID, raw message) for each UID still in the folder, in the order
        given; a batch is one FETCH (it may be empty)."""
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start:start + FETCH_BATCH]
            data = self._run("cannot fetch messages", self._connected().uid, "FETCH",
                             ",".join(map(str, batch)), "(UID BODY.PEEK[])")
            found = _fetched(data)
            yield [(uid, found[uid]) for uid in batch if uid in found]

    def supports_idle(self) -> bool:
        data = self._run("CAPABILITY failed", self._connected().capability)
        return b"IDLE" in (data[-1] or b"").upper().split()

    def wait_for_news(self, timeout: float) -> bool:
        """IDLE until the server announces a new message (True) or ``timeout`` seconds
        pass (False)."""
        imap, tag = self._connected(), next(_idle_tags)
        try:
            imap.send(tag + b" IDLE\r\n")
            answer = imap.readline()
            if not answer.startswith(b"+"):
                raise MailboxUnreachable(f"the server refused IDLE: {_said(answer)}")
            news = self._wait(imap, timeout)
            imap.send(b"DONE\r\n")
            return self._until_tagged(imap, tag) or news
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxUnreachable(f"IDLE failed: {_said(exc)}") from exc

    def _connect(self) -> imaplib.IMAP4:
        settings = self.settings
        try:
            if settings.security == MailboxSecurity.TLS:
                return imaplib.IMAP4_SSL(settings.host, settings.port, timeout=settings.timeout,
                                         ssl_context=ssl.create_default_context())
            return imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxUnreachable(f"cannot connect to {settings.host}:{settings.port}: "
                                     f"{_said(exc)}") from exc

    def _select(self) -> FolderStatus:
        folder = self.settings.folder
        imap = self._connected()
        data = self._run(f"cannot open the folder {folder}", imap.select, _quoted(folder),
                         readonly=True)
        _name, validity = imap.response("UIDVALIDITY")
        if not validity or not validity[0]:
            raise MailboxUnreachable(f"the server gave no UIDVALIDITY for the folder {folder}")
        return FolderStatus(int(data[0] or 0), int(validity[0]))

    def _run(self, failure: str, command: Callable[..., tuple[str, list]], *args: object,
             **kwargs: object) -> list:
        """A command's data; MailboxUnreachable(``failure`` and the server's words) if not OK."""
        try:
            status, data = command(*args, **kwargs)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxUnreachable(f"{failure}: {_said(exc)}") from exc
        if status != "OK":
            raise MailboxUnreachable(f"{failure}: {_said(data)}")
        return data

    def _connected(self) -> imaplib.IMAP4:
        if self._imap is None:
            raise MailboxUnreachable("the IMAP session is closed")
        return self._imap

    @staticmethod
    def _wait(imap: imaplib.IMAP4, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0 and _readable(imap, left):
            line = imap.readline()
            if not line or line.startswith(b"* BYE"):
                raise MailboxUnreachable("the server closed the connection")
            if NEWS_RE.match(line):
                return True
        return False

    @staticmethod
    def _until_tagged(imap: imaplib.IMAP4, tag: bytes) -> bool:
        """Read to the command's tagged answer; True if news came meanwhile."""
        news = False
        while not (line := imap.readline()).startswith(tag + b" "):
            if not line:
                raise MailboxUnreachable("the server closed the connection")
            news = news or bool(NEWS_RE.match(line))
        return news


def check_connection(mailbox_id: int) -> FolderStatus:
    """Log in to the mailbox and open its folder; MailboxUnreachable says what failed."""
    with ImapSource(_settings(mailbox_id)) as source:
        return source.status


# --- polling --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollResult:
    mailbox_id: int
    fetched: int = 0  # messages taken from the server this time
    error: str = ""
    busy: bool = False  # another poller held the mailbox: nothing was done


def poll(mailbox_id: int, should_stop: Callable[[], bool] = lambda: False) -> PollResult:
    """Bring the mailbox's new mail in, then record the poll and its error, if any, on the
    mailbox. ``should_stop`` is asked between messages."""
    with mailbox_lease(mailbox_id) as leased:
        if not leased:
            return PollResult(mailbox_id, busy=True)
        fetched, error = _poll_leased(mailbox_id, should_stop)
        with unit_of_work() as uow:
            mailboxes.record_poll(uow, mailbox_id, error)
    return PollResult(mailbox_id, fetched, error)


def _poll_leased(mailbox_id: int, should_stop: Callable[[], bool]) -> tuple[int, str]:
    """The number of messages taken, and what went wrong ("" if nothing)."""
    taken = 0
    try:
        settings = _settings(mailbox_id)
        _finish_pending(mailbox_id, should_stop)
        with ImapSource(settings) as source:
            last_uid = _resume_point(mailbox_id, source.status.uid_validity)
            for batch in source.fetch(source.uids_after(last_uid)):
                if should_stop():
                    break
                taken += len(batch)
                _process_all(_take(mailbox_id, source, batch), should_stop)
    except DomainError as exc:
        return taken, exc.message
    except Exception as exc:  # whatever it is, it shows on the mailbox; the next poll retries
        log.exception("polling mailbox %s failed", mailbox_id)
        return taken, f"{type(exc).__name__}: {exc}"
    return taken, ""


def _take(mailbox_id: int, source: ImapSource, batch: list[tuple[int, bytes]]) -> list[int]:
    """Store a FETCH's messages and remember their UIDs, in one transaction: a crash before
    its commit leaves the UIDs to fetch again, after it the emails to process (the next poll
    does). The ids of the emails stored, to process."""
    if not batch:  # deleted meanwhile: the next SEARCH will not name them
        return []
    with unit_of_work() as uow:
        stored = email_intake.keep_many(uow, _sourced(mailbox_id, source, batch))
        mailboxes.advance(uow, mailbox_id, batch[-1][0])
    return [s.email_id for s in stored]


def _sourced(mailbox_id: int, source: ImapSource,
             batch: list[tuple[int, bytes]]) -> list[tuple[bytes, Source]]:
    """The FETCH's messages with where each came from; an empty one is skipped."""
    emails = []
    for uid, raw in batch:
        if email_intake.is_empty(raw):
            log.warning("skipped the empty message %s", source.reference(uid))
        else:
            emails.append((raw, Source(InboundSource.IMAP, source.reference(uid), mailbox_id)))
    return emails


def _finish_pending(mailbox_id: int, should_stop: Callable[[], bool]) -> None:
    """Process what an interrupted poll stored but did not process (not the quarantine)."""
    with unit_of_work() as uow:
        pending = mailboxes.pending_emails(uow.session, mailbox_id)
    _process_all(pending, should_stop)


def _process_all(inbound_ids: list[int], should_stop: Callable[[], bool]) -> None:
    """Process stored emails in order, a FETCH's worth per transaction; those left when
    asked to stop wait for the next poll."""
    for start in range(0, len(inbound_ids), FETCH_BATCH):
        if should_stop():
            return
        intake.process_batch(inbound_ids[start:start + FETCH_BATCH])


def _settings(mailbox_id: int) -> ImapSettings:
    with unit_of_work() as uow:
        return ImapSettings.of(get_or_404(uow.session, Mailbox, mailbox_id))


def _resume_point(mailbox_id: int, uid_validity: int) -> int:
    with unit_of_work() as uow:
        return mailboxes.resume_point(uow, mailbox_id, uid_validity)


# --- one poller per mailbox -----------------------------------------------------------------


@contextmanager
def mailbox_lease(mailbox_id: int) -> Iterator[bool]:
    """True for the block's duration unless another poller, thread or process, holds the
    mailbox (then False). The lock dies with its holder, a killed one too."""
    engine = db.engine
    lock = _advisory_lock if engine.dialect.name == "postgresql" else _file_lock
    with lock(engine, mailbox_id) as leased:
        yield leased


@contextmanager
def _advisory_lock(engine: Engine, mailbox_id: int) -> Iterator[bool]:
    """A PostgreSQL session lock, on a connection held for the block."""
    keys = {"space": LOCK_SPACE, "id": mailbox_id}
    with engine.connect() as connection:
        leased = bool(connection.scalar(text(
            "SELECT pg_try_advisory_lock(CAST(:space AS integer), CAST(:id AS integer))"), keys))
        connection.commit()  # the lock outlives the transaction; no need to sit in one
        try:
            yield leased
        finally:
            if leased:
                _advisory_unlock(connection, keys)


def _advisory_unlock(connection: Connection, keys: dict[str, int]) -> None:
    try:
        connection.execute(text(
            "SELECT pg_advisory_unlock(CAST(:space AS integer), CAST(:id AS integer))"), keys)
        connection.commit()
    except SQLAlchemyError:
        connection.invalidate()  # a broken connection: closing it frees the lock


@contextmanager
def _file_lock(engine: Engine, mailbox_id: int) -> Iterator[bool]:
    """Other databases (SQLite): an flock on a file beside the database, which every process
    using it sees, and which also sets two threads of one process apart."""
    with _lock_path(engine, mailbox_id).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            leased = False
        else:
            leased = True
        yield leased  # closing the file releases the lock


def _lock_path(engine: Engine, mailbox_id: int) -> Path:
    database = engine.url.database
    if database and database != ":memory:":
        return Path(f"{database}.mailbox-{mailbox_id}.lock")
    return Path(current_app.instance_path) / f"mailbox-{mailbox_id}.lock"


# --- helpers --------------------------------------------------------------------------------


def _fetched(data: list) -> dict[int, bytes]:
    """The messages of a FETCH answer by UID. imaplib gives (header, literal) pairs, the
    UID in the header or in the bytes after the literal, depending on the server."""
    found: dict[int, bytes] = {}
    for index, item in enumerate(data):
        if not isinstance(item, tuple):
            continue
        after = data[index + 1] if index + 1 < len(data) else b""
        match = UID_RE.search(item[0]) or UID_RE.search(after if isinstance(after, bytes)
                                                        else b"")
        if match:
            found[int(match.group(1))] = item[1]
    return found


def _readable(imap: imaplib.IMAP4, timeout: float) -> bool:
    """Whether an answer waits: in imaplib's read buffer (a server often sends news together
    with the IDLE continuation), or on the socket within ``timeout`` seconds."""
    return _buffered(imap) or bool(select.select([imap.socket()], [], [], timeout)[0])


def _buffered(imap: imaplib.IMAP4) -> bool:
    sock = imap.socket()
    previous = sock.gettimeout()
    sock.settimeout(0.0)  # peek must not wait: with nothing buffered it reads the socket once
    try:
        return bool(imap.file.peek(1))
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    finally:
        sock.settimeout(previous)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(what: object) -> str:
    """What the server or the socket said, as text (imaplib hands over bytes)."""
    if isinstance(what, Exception):
        what = what.args[0] if len(what.args) == 1 else str(what)
    if isinstance(what, list):
        what = b" ".join(p for p in what if isinstance(p, bytes))
    if isinstance(what, bytes):
        what = what.decode("utf-8", "replace")
    return str(what).strip() or "no reason given"
