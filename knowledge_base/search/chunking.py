"""Cut an article into the texts the search index holds.

Body chunks follow the Markdown headings, then the paragraphs, packed up to
``MAX_CHUNK_CHARS``; a paragraph longer than that is cut between sentences (or words).
Each example question is a chunk of its own: they are how customers actually ask.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from knowledge_base.models import ArticleContent, ChunkKind

MAX_CHUNK_CHARS = 800
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True)
class ChunkDraft:
    kind: ChunkKind
    position: int
    text: str
    heading: str = ""


def chunk_article(content: ArticleContent, *, max_chars: int = MAX_CHUNK_CHARS,
                  ) -> list[ChunkDraft]:
    """The article's body chunks in reading order, then one chunk per example question."""
    pieces = [(heading, text) for heading, section in _sections(content.body)
              for text in _pack(_paragraphs(section), max_chars)]
    if not pieces:  # an empty body still has its title to match on
        pieces = [("", "")]
    drafts = [ChunkDraft(ChunkKind.CHUNK, n, text, heading)
              for n, (heading, text) in enumerate(pieces)]
    questions = [q.strip() for q in content.example_questions if q.strip()]
    return drafts + [ChunkDraft(ChunkKind.QUESTION, len(drafts) + n, q)
                     for n, q in enumerate(questions)]


def embedding_text(title: str, draft: ChunkDraft) -> str:
    """What the model sees: a body chunk under its title and heading, a question alone."""
    if draft.kind is ChunkKind.QUESTION:
        return draft.text
    return "\n".join(part for part in (title, draft.heading, draft.text) if part)


def _sections(body: str) -> Iterator[tuple[str, str]]:
    """(heading, text) for the text before the first heading and under each heading."""
    heading, lines = "", []
    in_code = False
    for line in body.splitlines():
        in_code ^= line.lstrip().startswith("```")
        match = None if in_code else HEADING.match(line)
        if match:
            yield heading, "\n".join(lines)
            heading, lines = match.group(2), []
        else:
            lines.append(line)
    yield heading, "\n".join(lines)


def _paragraphs(section: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", section) if p.strip()]


def _pack(paragraphs: list[str], max_chars: int) -> Iterator[str]:
    """Join consecutive paragraphs while they fit; cut the ones too long alone."""
    current = ""
    for piece in (part for p in paragraphs for part in _split_long(p, max_chars)):
        if current and len(current) + 2 + len(piece) > max_chars:
            yield current
            current = ""
        current = f"{current}\n\n{piece}" if current else piece
    if current:
        yield current


def _split_long(text: str, max_chars: int) -> Iterator[str]:
    if len(text) <= max_chars:
        yield text
        return
    units = SENTENCE_END.split(text)
    if len(units) == 1:
        units = text.split(" ")
    current = ""
    for unit in units:
        while len(unit) > max_chars:  # one unbroken word longer than a chunk
            if current:
                yield current
                current = ""
            yield unit[:max_chars]
            unit = unit[max_chars:]
        if current and len(current) + 1 + len(unit) > max_chars:
            yield current
            current = ""
        current = f"{current} {unit}" if current else unit
    if current:
        yield current
