"""Import articles from JSONL (one article a line) or a folder of Markdown files with YAML
front matter. Each article is imported in its own unit of work: a bad one is reported with
its line number or file name and the rest still import.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from helpdesk.errors import DomainError
from helpdesk.events import Actor
from helpdesk.uow import UnitOfWork
from knowledge_base import articles
from knowledge_base.articles import ArticleRecord, ImportOutcome
from knowledge_base.models import ArticleContent, ArticleStatus, Audience

FIELDS = ("id", "title", "body", "language", "category", "tags", "audience", "status",
          "example_questions")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<yaml>.*?)^(?:---|\.\.\.)[ \t]*$\n?(?P<body>.*)\Z",
                           re.DOTALL | re.MULTILINE)


class RecordError(ValueError):
    """An article's data cannot be read (the message says why)."""


@dataclass(frozen=True)
class Entry:
    """One article read from a source at ``location`` (``line 3``, ``faq/returns.md``),
    or the reason it could not be read."""

    location: str
    record: ArticleRecord | None = None
    error: str = ""


@dataclass(frozen=True)
class Rejected:
    location: str
    reason: str


@dataclass
class ImportSummary:
    counts: Counter[ImportOutcome] = field(default_factory=Counter)
    rejected: list[Rejected] = field(default_factory=list)

    def __str__(self) -> str:
        done = ", ".join(f"{outcome.value} {self.counts[outcome]}" for outcome in ImportOutcome)
        return f"{done}, rejected {len(self.rejected)}"


def import_entries(entries: Iterable[Entry], unit_of_work: Callable[[], UnitOfWork],
                   actor: Actor) -> ImportSummary:
    """Import each readable entry in a unit of work of its own; collect what was rejected."""
    summary = ImportSummary()
    for entry in entries:
        outcome = _import_one(entry, unit_of_work, actor)
        if isinstance(outcome, Rejected):
            summary.rejected.append(outcome)
        else:
            summary.counts[outcome] += 1
    return summary


def _import_one(entry: Entry, unit_of_work: Callable[[], UnitOfWork],
                actor: Actor) -> ImportOutcome | Rejected:
    if entry.record is None:
        return Rejected(entry.location, entry.error)
    try:
        with unit_of_work() as uow:
            return articles.import_article(uow, actor, entry.record)
    except DomainError as exc:
        return Rejected(entry.location, exc.message)


def read_path(path: Path) -> list[Entry]:
    """A folder: its Markdown files (``*.md``, recursively); a file: JSONL."""
    if path.is_dir():
        return read_markdown_folder(path)
    return read_jsonl(path.read_bytes())


def read_jsonl(data: bytes) -> list[Entry]:
    """One entry per non-blank line, located by its line number."""
    # Split on newlines only: JSON strings may hold other line separators (U+2028…).
    lines = enumerate(data.split(b"\n"), start=1)
    return [_jsonl_entry(number, line) for number, line in lines if line.strip()]


def _jsonl_entry(number: int, line: bytes) -> Entry:
    location = f"line {number}"
    try:
        data = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return Entry(location, error="not UTF-8 text")
    except json.JSONDecodeError as exc:
        return Entry(location, error=f"not valid JSON ({exc.msg} at column {exc.colno})")
    return _entry(location, data)


def read_markdown_folder(folder: Path) -> list[Entry]:
    """One entry per Markdown file, located by its path inside ``folder``."""
    return [_markdown_entry(path.relative_to(folder).as_posix(), path.read_bytes())
            for path in sorted(folder.rglob("*.md"))]


def _markdown_entry(location: str, data: bytes) -> Entry:
    try:
        front, body = split_front_matter(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return Entry(location, error="not UTF-8 text")
    except RecordError as exc:
        return Entry(location, error=str(exc))
    if "body" in front:
        return Entry(location, error="body: write it after the front matter, not in it")
    return _entry(location, {**front, "body": body})


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """The YAML front matter (between ``---`` lines at the top) and the Markdown after it."""
    match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if match is None:
        raise RecordError("no front matter: the file must start with a '---' line, "
                          "then the fields in YAML, then a '---' line")
    try:
        front = yaml.safe_load(match["yaml"])
    except yaml.YAMLError as exc:
        raise RecordError(f"front matter is not valid YAML{_yaml_line(exc)}") from None
    if front is None:
        front = {}
    if not isinstance(front, dict):
        raise RecordError("front matter must be YAML fields (name: value)")
    return front, match["body"]


def _yaml_line(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "syntax error"
    # The mark counts from the front matter's first line, which is the file's second.
    return f" (line {mark.line + 2}: {problem})" if mark else ""


def _entry(location: str, data: object) -> Entry:
    try:
        return Entry(location, record=record_from(data))
    except RecordError as exc:
        return Entry(location, error=str(exc))


def record_from(data: object) -> ArticleRecord:
    """An import record from one article's fields (their values are checked on import)."""
    if not isinstance(data, dict):
        raise RecordError("expected an object with the article's fields")
    unknown = sorted(str(name) for name in set(data) - set(FIELDS))
    if unknown:
        raise RecordError(f"unknown field(s): {', '.join(unknown)} "
                          f"(known: {', '.join(FIELDS)})")
    given = {name: value for name, value in data.items() if value is not None}
    content = ArticleContent(
        title=given.get("title", ""), body=given.get("body", ""),
        language=given.get("language", ""), category=given.get("category", ""),
        tags=given.get("tags", []), audience=given.get("audience", Audience.PUBLIC.value),
        example_questions=given.get("example_questions", []))
    return ArticleRecord(external_id=_external_id(given.get("id")), content=content,
                         status=given.get("status", ArticleStatus.DRAFT.value))


def _external_id(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | None):
        raise RecordError("id must be text or a whole number")
    return None if value is None else str(value)
