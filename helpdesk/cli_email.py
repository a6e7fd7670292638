"""``comptoir email``: import emails from files, see and retry the quarantine."""

from __future__ import annotations

import json
import mailbox
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import click

from helpdesk.cli_admin import echo_table, with_database
from helpdesk.extensions import db
from helpdesk.mail import intake
from helpdesk.models import InboundSource
from helpdesk.services import email_intake
from helpdesk.services.email_intake import EmptyEmail

MBOX_START = b"From "
REJECTED = "rejected"  # not stored at all (an empty file)
REASON_WIDTH = 80


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
