"""Cut an article into the texts the search index holds.

Body chunks follow the Markdown headings, then the paragraphs, packed up to
``MAX_CHUNK_CHARS``; a paragraph longer than that is cut between sentences (or words).
Each example question is a chunk of its own: they are how customers actually ask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
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
    pieces = (piece for p in paragraphs for piece in _split_long(p, max_chars))
    return _joined(pieces, max_chars, "\n\n")


def _split_long(text: str, max_chars: int) -> Iterator[str]:
    """Pieces of at most ``max_chars``: cut between sentences, else words, else anywhere."""
    if len(text) <= max_chars:
        yield text
        return
    sentences = SENTENCE_END.split(text)
    units = sentences if len(sentences) > 1 else text.split(" ")
    if len(units) == 1:  # one unbroken word longer than a chunk
        yield from (text[i:i + max_chars] for i in range(0, len(text), max_chars))
        return
    yield from _joined((p for unit in units for p in _split_long(unit, max_chars)),
                       max_chars, " ")


def _joined(pieces: Iterable[str], max_chars: int, separator: str) -> Iterator[str]:
    """Consecutive pieces joined by ``separator`` while the result fits in ``max_chars``."""
    current = ""
    for piece in pieces:
        if current and len(current) + len(separator) + len(piece) > max_chars:
            yield current
            current = ""
        current = f"{current}{separator}{piece}" if current else piece
    if current:
        yield current
