"""The shared email corpora through Comptoir's intake: what each message became, and a
check that no input crashed the pipeline or vanished.

Inputs (the shared data folder's ``emails/``, see its README):

- every ``.eml`` file of talon, flanker and ruby-mail, as they are;
- email-reply-parser's 24 reply bodies (``test/emails/*.txt``: plain text, no headers),
  each wrapped as the minimal message a mail client sends (From, To, Subject, Date,
  Message-ID, a UTF-8 text part): they are real replies, so they belong in the run;
- not talon's other files: HTML fragments and expected texts, which are not messages.

Each input goes through ``intake.ingest`` (store, then process), as ``comptoir email
import`` calls it, in a throw-away app on SQLite, in a fixed order. The check reads the
database afterwards: every input has exactly one outcome; every input that was stored has
exactly one row of ``inbound_emails`` (a duplicate points at the row of the first copy),
none is left unprocessed, and every person's mail has its message.

    .venv/bin/python -m benchmarks.email_corpus [--write]
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from benchmarks.banking77_kb import SHARED_DATA_ENV, shared_data_dir
from benchmarks.common import header, load_note, throwaway_app, write_section
from helpdesk.extensions import db
from helpdesk.mail import intake
from helpdesk.models import InboundEmail, InboundSource, InboundState, IntakeOutcome, Message
from helpdesk.services.email_intake import EmptyEmail

MODULE = "benchmarks.email_corpus"
SECTION = "email-corpus"
EML_CORPORA = ("talon", "flanker", "ruby-mail")
REPLY_PARSER = "email-reply-parser"
REPLY_BODIES = Path("test") / "emails"
WRAP_DATE = 1_780_000_000  # a fixed Date for the wrapped bodies: the run is repeatable
REJECTED = "rejected"  # refused before being stored (an empty message)
CRASHED = "crashed"  # the pipeline raised: what this benchmark must never see
OUTCOMES = [*(o.value for o in IntakeOutcome), REJECTED, CRASHED]
PERSON_MAIL = {IntakeOutcome.NEW_CONVERSATION.value, IntakeOutcome.APPENDED.value}


@dataclass(frozen=True)
class Input:
    corpus: str
    name: str  # the file's path inside its corpus folder
    raw: bytes

    @property
    def reference(self) -> str:
        return f"{self.corpus}/{self.name}"


@dataclass(frozen=True)
class Result:
    input: Input
    outcome: str
    reason: str
    inbound_id: int | None
    thread_rule: str | None
    same_bytes: bool | None = None  # a duplicate: the stored email's bytes again?


# --- inputs -------------------------------------------------------------------------------


def corpus_inputs(emails: Path) -> list[Input]:
    """The ``.eml`` files of each corpus, then the wrapped reply bodies, in path order."""
    files = [Input(corpus, path.relative_to(emails / corpus).as_posix(), path.read_bytes())
             for corpus in EML_CORPORA for path in sorted((emails / corpus).rglob("*.eml"))]
    bodies = sorted((emails / REPLY_PARSER / REPLY_BODIES).glob("*.txt"))
    return files + [Input(REPLY_PARSER, (REPLY_BODIES / path.name).as_posix(), wrapped(path))
                    for path in bodies]


def wrapped(path: Path) -> bytes:
    """A plain-text reply body as a minimal message, one sender per file."""
    message = EmailMessage()
    message["From"] = f"Reply Parser <{path.stem.lower()}@reply-parser.example>"
    message["To"] = "support@example.com"
    message["Subject"] = f"email-reply-parser {path.stem}"
    message["Date"] = formatdate(WRAP_DATE, usegmt=True)
    message["Message-ID"] = f"<{path.stem}@reply-parser.example>"
    message.set_content(path.read_text("utf-8"))
    return message.as_bytes()


def excluded_files(emails: Path, inputs: Iterable[Input]) -> list[str]:
    """The corpora's files that are not inputs (licences and expectations apart)."""
    used = {item.reference for item in inputs}
    found = (path.relative_to(emails).as_posix() for path in sorted(emails.rglob("*"))
             if path.is_file())
    return [name for name in found if name not in used and not _bookkeeping(name)]


def _bookkeeping(name: str) -> bool:
    return Path(name).name.endswith(("LICENSE", ".json")) or Path(name).name == "MIT-LICENSE"


# --- the run ------------------------------------------------------------------------------


def ingest_all(app: Flask, inputs: list[Input]) -> tuple[list[Result], float]:
    """Each input through the intake, in order; the results and the seconds it took."""
    with app.app_context():
        start = time.perf_counter()
        results = [ingest_one(item) for item in inputs]
        return results, time.perf_counter() - start


def ingest_one(item: Input) -> Result:
    source = intake.Source(InboundSource.CLI, reference=item.reference)
    try:
        outcome = intake.ingest(item.raw, source)
    except EmptyEmail as exc:
        return Result(item, REJECTED, exc.message, None, None)
    except Exception as exc:  # the point of the run: a crash is counted, never hidden
        return Result(item, CRASHED, f"{type(exc).__name__}: {exc}", None, None)
    same = _same_bytes(item.raw, outcome.inbound_id) if outcome.duplicate else None
    return Result(item, outcome.outcome, outcome.reason, outcome.inbound_id,
                  outcome.thread_rule, same)


def _same_bytes(raw: bytes, inbound_id: int) -> bool:
    first = db.session.get(InboundEmail, inbound_id)
    return first is not None and first.sha256 == hashlib.sha256(raw).hexdigest()


def accounting_problems(app: Flask, results: list[Result]) -> list[str]:
    """Every way the database breaks "each input accounted for exactly once" (none: [])."""
    with app.app_context():
        rows = {row.id: row for row in db.session.scalars(select(InboundEmail))}
        messages = set(db.session.scalars(select(Message.id)))
    stored_by = Counter(row.source_ref for row in rows.values())
    problems = [f"{row.source_ref}: row {row.id} left unprocessed" for row in rows.values()
                if row.state == InboundState.RECEIVED]
    inputs = {result.input.reference for result in results}
    problems += [f"row {row.id} ({row.source_ref}) is no input's" for row in rows.values()
                 if row.source_ref not in inputs]
    for result in results:
        problems += _input_problems(result, rows, stored_by, messages)
    return problems


def _input_problems(result: Result, rows: dict[int, InboundEmail], stored_by: Counter[str],
                    messages: set[int]) -> list[str]:
    name, own = result.input.reference, stored_by[result.input.reference]
    if result.outcome == CRASHED:
        return [f"{name}: crashed ({result.reason})"]
    if own and result.outcome in (REJECTED, IntakeOutcome.DUPLICATE.value):
        return [f"{name}: {result.outcome}, yet {own} row(s) of its own"]
    if result.outcome == REJECTED:
        return []
    if result.outcome == IntakeOutcome.DUPLICATE.value:
        return [] if result.inbound_id in rows else [f"{name}: a duplicate of no stored row"]
    row = rows.get(result.inbound_id) if result.inbound_id is not None else None
    if own != 1 or row is None or row.source_ref != name:
        return [f"{name}: {own} row(s) of its own instead of 1"]
    if row.outcome is None or row.outcome.value != result.outcome:
        return [f"{name}: the row says {row.outcome}, the intake said {result.outcome}"]
    if result.outcome in PERSON_MAIL and row.message_id not in messages:
        return [f"{name}: {result.outcome} without its message"]
    return []


# --- the report ---------------------------------------------------------------------------


def outcome_table(results: list[Result]) -> str:
    """Inputs per corpus and outcome (outcomes no input had are left out)."""
    counts = Counter((r.input.corpus, r.outcome) for r in results)
    shown = [o for o in OUTCOMES if any(outcome == o for _c, outcome in counts)]
    corpora = list(dict.fromkeys(r.input.corpus for r in results))
    lines = ["| Corpus | Inputs | " + " | ".join(f"`{o}`" for o in shown) + " |",
             "| --- | ---: |" + " ---: |" * len(shown)]
    for corpus in [*corpora, "all"]:
        mine = [r for r in results if corpus in ("all", r.input.corpus)]
        cells = [str(sum(r.outcome == o for r in mine)) for o in shown]
        label = "**all**" if corpus == "all" else corpus
        lines.append(f"| {label} | {len(mine)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def outcome_details(results: list[Result]) -> str:
    """The inputs of each outcome but ``new_conversation``, with the reason or rule."""
    blocks = []
    for outcome in OUTCOMES:
        mine = [r for r in results if r.outcome == outcome]
        if outcome == IntakeOutcome.NEW_CONVERSATION.value or not mine:
            continue
        lines = "\n".join(f"  - `{r.input.reference}`: {_why(r)}" for r in mine)
        blocks.append(f"- `{outcome}` ({len(mine)}):\n{lines}")
    return "\n".join(blocks)


def _why(result: Result) -> str:
    if result.outcome == IntakeOutcome.APPENDED.value:
        return f"threaded by `{result.thread_rule}`"
    if result.same_bytes is not None:
        content = "the same bytes" if result.same_bytes else "other content"
        return f"{result.reason} ({content})"
    return " ".join(result.reason.split())[:200] or "(no reason given)"


def duplicates_note(results: list[Result]) -> str:
    """How many duplicates are other content reusing an earlier input's Message-ID."""
    reused = sum(r.same_bytes is False for r in results)
    if not reused:
        return ""
    return (f"{reused} of the duplicates are other files reusing an earlier file's "
            "Message-ID (the corpora's test fixtures do): the intake keys each email on its "
            "Message-ID, so their own content is not kept; the first file's is.\n\n")


def verdict(results: list[Result], problems: list[str]) -> str:
    crashed = sum(r.outcome == CRASHED for r in results)
    if not problems:
        return (f"**No crash, no silent drop: checked.** {crashed} crashes; each of the "
                f"{len(results)} inputs has exactly one outcome, each stored input exactly one "
                "row of `inbound_emails` (each duplicate points at its first copy's row), no "
                "row is left unprocessed or belongs to no input, and every person's mail has "
                "its message.")
    listed = "\n".join(f"- {problem}" for problem in problems)
    return f"**Accounting FAILED** ({len(problems)} problems):\n\n{listed}"


def report(emails: Path) -> str:
    inputs = corpus_inputs(emails)
    with throwaway_app() as app:
        results, seconds = ingest_all(app, inputs)
        problems = accounting_problems(app, results)
    wrapped_count = sum(r.input.corpus == REPLY_PARSER for r in results)
    excluded = ", ".join(f"`{name}`" for name in excluded_files(emails, inputs)) or "none"
    return (f"{len(inputs)} inputs: {len(inputs) - wrapped_count} `.eml` files as they are, "
            f"and {wrapped_count} email-reply-parser bodies wrapped as minimal messages (From, "
            "To, Subject, Date, Message-ID, a UTF-8 text part). Not messages, left out: "
            f"{excluded}.\n\nEach went through `intake.ingest` (store, then process) in a "
            f"throw-away app on SQLite: {seconds:.1f} s in all, "
            f"{seconds / len(inputs) * 1000:.0f} ms per input.\n\n"
            f"{outcome_table(results)}\n\n{verdict(results, problems)}\n\n"
            f"{duplicates_note(results)}"
            f"What the inputs other than new conversations became:\n\n"
            f"{outcome_details(results)}\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help="update this benchmark's section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    emails = shared_data_dir() / "emails"
    if not emails.is_dir():
        raise SystemExit(f"no email corpora at {emails} (set {SHARED_DATA_ENV})")
    load = load_note()
    section = (f"### Email corpus through the intake (issue 6)\n\n{header(MODULE, load)}\n"
               f"{report(emails)}")
    print(section)
    if args.write:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
