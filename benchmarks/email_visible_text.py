"""Visible text of email replies: how many published expectations ``visible_text`` meets.

Two public corpora (see the shared data folder's README): talon's standard replies, whole
messages read through ``parse_email``, and email-reply-parser's reply bodies. A text meets
its expectation when both are equal once every run of whitespace is one space.

The corpora disagree on signatures: talon's expectations keep them (talon removes the
quotation only: "Hello\\n\\nSent from my iPhone"), email-reply-parser's remove them. Each
corpus is therefore scored both ways: ``visible_text`` as the product calls it (history and
signature removed), and with ``keep_signature=True`` (history removed only).

    .venv/bin/python -m benchmarks.email_visible_text [--write]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.banking77_kb import SHARED_DATA_ENV, shared_data_dir
from helpdesk.mail import parse_email
from helpdesk.mail.visible import visible_text

MODULE = "benchmarks.email_visible_text"
SECTION = "email-visible-text"
TARGET = 0.90


@dataclass(frozen=True)
class Case:
    name: str
    text: str  # the message's full text, as visible_text receives it
    expected: str


@dataclass(frozen=True)
class Score:
    met: int
    total: int
    missed: list[str]

    @property
    def share(self) -> float:
        return self.met / self.total if self.total else 0.0


def talon_cases(folder: Path) -> list[Case]:
    """talon's standard replies: each .eml parsed, its text against the expected reply."""
    expected = json.loads((folder / "standard_replies_expected.json").read_text("utf-8"))
    replies = folder / "tests" / "fixtures" / "standard_replies"
    return [Case(name, parse_email((replies / name).read_bytes()).text, reply)
            for name, reply in sorted(expected["expected_visible_text"].items())]


def reply_parser_cases(folder: Path) -> list[Case]:
    """email-reply-parser's reply bodies (plain text already) against their visible text."""
    expected = json.loads((folder / "visible_reply_text.json").read_text("utf-8"))
    bodies = folder / "test" / "emails"
    return [Case(name, (bodies / name).read_text("utf-8"), reply)
            for name, reply in sorted(expected["visible_reply_text"].items())]


def normalised(text: str) -> str:
    return " ".join(text.split())


def score(cases: list[Case], extract: Callable[[str], str]) -> Score:
    missed = [case.name for case in cases
              if normalised(extract(case.text)) != normalised(case.expected)]
    return Score(len(cases) - len(missed), len(cases), missed)


def corpora() -> dict[str, tuple[str, list[Case]]]:
    """Each corpus: how its expectations treat signatures, and its cases."""
    emails = shared_data_dir() / "emails"
    if not emails.is_dir():
        raise SystemExit(f"no email corpora at {emails} (set {SHARED_DATA_ENV})")
    return {"talon": ("signature kept", talon_cases(emails / "talon")),
            "email-reply-parser": ("signature removed",
                                   reply_parser_cases(emails / "email-reply-parser"))}


def cell(s: Score) -> str:
    return f"{s.met}/{s.total} ({s.share:.1%})"


def report() -> str:
    """The Markdown table of both modes per corpus, the verdict, and the misses."""
    rows, verdicts, misses = [], [], []
    for corpus, (convention, cases) in corpora().items():
        full = score(cases, visible_text)
        history = score(cases, lambda text: visible_text(text, keep_signature=True))
        rows.append(f"| {corpus} | {convention} | {cell(full)} | {cell(history)} |")
        own = history if convention == "signature kept" else full
        verdicts.append(f"{corpus} {own.share:.1%} by its own convention "
                        f"({'met' if own.share >= TARGET else 'MISSED'})")
        misses += [f"- {corpus}, `visible_text`: {', '.join(full.missed) or 'none'}",
                   f"- {corpus}, `keep_signature=True`: {', '.join(history.missed) or 'none'}"]
    table = "\n".join(rows)
    return ("| Corpus | Expectations | `visible_text(text)` | "
            "`visible_text(text, keep_signature=True)` |\n| --- | --- | ---: | ---: |\n"
            f"{table}\n\nTarget >= {TARGET:.0%}: {'; '.join(verdicts)}.\n\n"
            "Files missed:\n\n" + "\n".join(misses) + "\n")


def main(argv: list[str] | None = None) -> None:
    # Imported here: the machine description loads torch, which the tests reusing the
    # scoring above do not need.
    from benchmarks.common import header, load_note, write_section

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help="update this benchmark's section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    load = load_note()
    section = (f"### Email visible text (quoted history and signatures)\n\n"
               f"{header(MODULE, load)}\n{report()}")
    print(section)
    if args.write:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
