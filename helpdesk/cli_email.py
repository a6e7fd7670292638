"""``comptoir email``: import emails from files, see and retry the quarantine;
``comptoir mailbox``: the polled IMAP mailboxes; ``comptoir worker``: the background worker."""

from __future__ import annotations

import json
import logging
import mailbox
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import click

from helpdesk.cli_admin import echo_table, with_database
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.jobs import DEFAULT_INTERVAL, Worker
from helpdesk.mail import imap, intake
from helpdesk.mail.imap import PollResult
from helpdesk.models import InboundSource, Mailbox, MailboxSecurity
from helpdesk.services import email_intake, mailboxes
from helpdesk.services.email_intake import EmptyEmail

MBOX_START = b"From "
REJECTED = "rejected"  # not stored at all (an empty file)
REASON_WIDTH = 80

log = logging.getLogger(__name__)


@click.group("email", help="Email intake: import messages, the quarantine.")
def email_group() -> None:
    """Email intake commands."""


@email_group.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@with_database
def email_import(paths: tuple[Path, ...]) -> None:
    """Import emails from PATHS: .eml files, mbox files, Maildir folders, in that order.

    Prints one JSON line per message, then one with the counts. Quarantined messages do
    not fail the command: see `comptoir email quarantine`.
    """
    _check_paths(paths)
    counts: Counter[str] = Counter()
    for reference, raw in _messages(paths):
        line = _import_one(reference, raw)
        counts[line["outcome"]] += 1
        click.echo(json.dumps(line))
    click.echo(json.dumps({"summary": {"messages": sum(counts.values()), **counts}}))


@email_group.command("quarantine")
@with_database
def email_quarantine() -> None:
    """List the quarantined emails: id, when received, source, attempts, reason."""
    rows = [(str(e.id), e.received_at.strftime("%Y-%m-%d %H:%M"), e.source_ref or e.source.value,
             str(e.attempts), e.reason.replace("\n", " ")[:REASON_WIDTH])
            for e in email_intake.quarantined(db.session)]
    echo_table(("ID", "RECEIVED", "SOURCE", "ATTEMPTS", "REASON"), rows)


@email_group.command("reprocess")
@click.argument("inbound_id", type=int, required=False)
@click.option("--all", "every", is_flag=True, help="Every quarantined email.")
@with_database
def email_reprocess(inbound_id: int | None, every: bool) -> None:
    """Process the quarantined email INBOUND_ID (or --all of them) again, once the cause
    is fixed; prints one JSON line per email."""
    if (inbound_id is not None) == every:
        raise click.UsageError("give one email id, or --all")
    outcomes = intake.reprocess_quarantined() if every else [intake.reprocess(inbound_id)]
    for outcome in outcomes:
        click.echo(json.dumps(_line(outcome.source, outcome.outcome, outcome.conversation_id,
                                    outcome.reason)))


@click.group("mailbox", help="Mailboxes polled for email over IMAP (`comptoir worker` polls).")
def mailbox_group() -> None:
    """Mailbox commands."""


@mailbox_group.command("add")
@click.argument("address")
@click.option("--host", required=True, help="The IMAP server.")
@click.option("--security", type=click.Choice([s.value for s in MailboxSecurity]),
              default=MailboxSecurity.TLS.value, show_default=True)
@click.option("--port", type=int, help="Default: 993 with tls, 143 otherwise.")
@click.option("--username", help="Default: the address.")
@click.option("--password", prompt=True, hide_input=True, help="Asked when omitted.")
@click.option("--folder", default="INBOX", show_default=True)
@click.option("--name", help="Default: the address.")
@click.option("--queue-id", type=int, help="Queue that receives the mail (`comptoir queues "
                                           "list`); default: none.")
@click.option("--poll-seconds", type=int, default=60, show_default=True)
@click.option("--idle/--no-idle", default=False, help="Also wait for new mail with IDLE.")
@with_database
def mailbox_add(address: str, host: str, security: str, port: int | None,
                username: str | None, password: str, folder: str, name: str | None,
                queue_id: int | None, poll_seconds: int, idle: bool) -> None:
    """Add a mailbox at ADDRESS to poll; its password is stored encrypted."""
    given = {"imap_port": port, "imap_username": username, "queue_id": queue_id}
    with unit_of_work() as uow:
        mailbox = mailboxes.create_mailbox(
            uow, SYSTEM, password=password, name=name or address, address=address,
            imap_host=host, imap_security=security, imap_folder=folder,
            poll_seconds=poll_seconds, use_idle=idle,
            **{key: value for key, value in given.items() if value is not None})
    click.echo(f"created mailbox {mailbox.id} for {mailbox.address}; check it with "
               f"`comptoir mailbox test {mailbox.id}`")


@mailbox_group.command("list")
@with_database
def mailbox_list() -> None:
    """List the mailboxes: id, address, server, folder, state, last poll, last error."""
    rows = [(str(m.id), m.address, f"{m.imap_host}:{m.imap_port} ({m.imap_security.value})",
             m.imap_folder, "active" if m.active else "deactivated", _polled(m),
             m.last_error.replace("\n", " ")[:REASON_WIDTH] or "-")
            for m in mailboxes.all_mailboxes(db.session)]
    echo_table(("ID", "ADDRESS", "SERVER", "FOLDER", "STATE", "LAST POLL", "LAST ERROR"), rows)


@mailbox_group.command("test")
@click.argument("mailbox_id", type=int)
@with_database
def mailbox_test(mailbox_id: int) -> None:
    """Log in to mailbox MAILBOX_ID and open its folder (exit status 1 if that fails)."""
    status = imap.check_connection(mailbox_id)
    click.echo(f"ok: the folder holds {status.messages} messages "
               f"(UIDVALIDITY {status.uid_validity})")


@click.command("worker")
@click.option("--once", is_flag=True, help="Poll every active mailbox once, send the mail "
                                           "due, and exit (for cron).")
@click.option("--interval", type=click.FloatRange(min=0.1), default=DEFAULT_INTERVAL,
              show_default=True, help="Seconds between ticks.")
@with_database
def worker_command(once: bool, interval: float) -> None:
    """Poll the mailboxes that are due and send the mail that is due, until SIGTERM or
    Ctrl+C (the message in hand is finished first)."""
    if not once:
        click.echo(f"Comptoir worker: a tick every {interval:g} s (Ctrl+C stops it)")
    Worker(interval=interval).run(once=once, report=_echo_poll if once else _log_poll)
    if not once:
        click.echo("Comptoir worker stopped")


def _polled(box: Mailbox) -> str:
    return box.last_polled_at.strftime("%Y-%m-%d %H:%M") if box.last_polled_at else "-"


def _echo_poll(result: PollResult) -> None:
    click.echo(f"mailbox {result.mailbox_id}: {_poll_summary(result)}")


def _log_poll(result: PollResult) -> None:
    if result.error:
        log.warning("mailbox %s: %s", result.mailbox_id, _poll_summary(result))
    elif result.fetched:
        log.info("mailbox %s: %s", result.mailbox_id, _poll_summary(result))


def _poll_summary(result: PollResult) -> str:
    if result.busy:
        return "skipped: another worker is polling it"
    summary = f"{result.fetched} message{'s' * (result.fetched != 1)} fetched"
    return f"{summary}; error: {result.error}" if result.error else summary


def _check_paths(paths: Iterable[Path]) -> None:
    """Refuse before importing anything when a path is missing or not an email source."""
    for path in paths:
        if not path.exists():
            raise click.BadParameter(f"{path} does not exist", param_hint="PATHS")
        if path.is_dir() and not _is_maildir(path):
            raise click.BadParameter(f"{path} is a folder but not a Maildir (no cur/ and "
                                     "new/ inside)", param_hint="PATHS")


def _import_one(reference: str, raw: bytes) -> dict[str, object]:
    try:
        outcome = intake.ingest(raw, intake.Source(InboundSource.CLI, reference=reference))
    except EmptyEmail as exc:
        return _line(reference, REJECTED, None, exc.message)
    return _line(reference, outcome.outcome, outcome.conversation_id, outcome.reason)


def _line(source: str, outcome: str, conversation_id: int | None,
          reason: str) -> dict[str, object]:
    return {"source": source, "outcome": outcome, "conversation_id": conversation_id,
            "reason": reason}


def _messages(paths: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    """Each message of each path, with where it came from."""
    for path in paths:
        if path.is_dir():
            yield from _maildir(path)
        elif _is_mbox(path):
            yield from _mbox(path)
        else:
            yield str(path), path.read_bytes()


def _is_maildir(folder: Path) -> bool:
    return (folder / "cur").is_dir() and (folder / "new").is_dir()


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(len(MBOX_START)) == MBOX_START


def _maildir(folder: Path) -> Iterator[tuple[str, bytes]]:
    """New and seen messages in delivery order (Maildir names start with the time)."""
    files = [f for sub in ("new", "cur") for f in (folder / sub).iterdir()
             if f.is_file() and not f.name.startswith(".")]
    for file in sorted(files, key=lambda f: f.name):
        yield str(file), file.read_bytes()


def _mbox(path: Path) -> Iterator[tuple[str, bytes]]:
    box = mailbox.mbox(path, create=False)
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            yield f"{path}#{number}", box.get_bytes(key)
    finally:
        box.close()
