"""Article bodies cut into bounded chunks along headings, then paragraphs, then sentences."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from markdown_it import MarkdownIt

MAX_CHUNK_CHARS = 1000
_parser = MarkdownIt("commonmark").enable("table")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Chunk:
    """A piece of an article body; ``heading`` is the title of the section it sits in."""

    position: int
    heading: str
    text: str


def chunk_markdown(body: str, max_chars: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    """Cut a Markdown body into chunks of at most ``max_chars`` characters.

    A chunk never spans two sections; inside a section whole paragraphs (lists, code,
    tables: any top-level block) are packed together, and a block too long on its own
    is cut at sentence ends, then at spaces.
    """
    chunks = []
    for heading, blocks in _sections(body):
        for text in _packed(_bounded_pieces(blocks, max_chars), max_chars):
            chunks.append(Chunk(len(chunks), heading, text))
    return chunks


def _sections(body: str) -> Iterator[tuple[str, list[str]]]:
    """``(heading, blocks)`` per section, the blocks being the source text of each."""
    lines = body.splitlines()
    heading, blocks = "", []
    tokens = _parser.parse(body)
    for index, token in enumerate(tokens):
        if token.level != 0 or token.map is None or token.nesting == -1:
            continue
        if token.type == "heading_open":
            if blocks:
                yield heading, blocks
            heading, blocks = tokens[index + 1].content.strip(), []
            continue
        text = "\n".join(lines[token.map[0]:token.map[1]]).strip()
        if text:
            blocks.append(text)
    if blocks:
        yield heading, blocks


def _bounded_pieces(blocks: list[str], max_chars: int) -> Iterator[str]:
    for block in blocks:
        if len(block) <= max_chars:
            yield block
        else:
            yield from _packed(_split_long(block, max_chars), max_chars, separator=" ")


def _split_long(block: str, max_chars: int) -> Iterator[str]:
    """A block's sentences, and any sentence still too long cut at spaces (or hard)."""
    for sentence in _SENTENCE_END.split(block):
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars + 1)
            cut = cut if cut > 0 else max_chars
            yield sentence[:cut]
            sentence = sentence[cut:].lstrip()
        if sentence:
            yield sentence


def _packed(pieces: Iterator[str], max_chars: int, separator: str = "\n\n") -> Iterator[str]:
    """Consecutive pieces joined while the result stays within ``max_chars``."""
    current = ""
    for piece in pieces:
        if current and len(current) + len(separator) + len(piece) > max_chars:
            yield current
            current = ""
        current = f"{current}{separator}{piece}" if current else piece
    if current:
        yield current
