"""HTML mail to readable plain text.

Blocks become lines, paragraphs are separated by a blank line, list items get a dash, links
keep their address, and blockquotes become ``>``-quoted lines so that quoted history is
recognised as in plain text. What a reader never sees (scripts, styles, the head) is dropped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

SKIPPED = {"script", "style", "head", "title", "template", "noscript", "xml", "object"}
PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "pre", "hr",
              "dl", "blockquote", "address", "fieldset"}
LINES = {"div", "section", "article", "header", "footer", "tr", "li", "dt", "dd", "center",
         "form"}
SPACES = re.compile(r"[ \t\r\n\f\v\xa0\u200b]+")
LINK_SCHEMES = ("http://", "https://")


class _TextWriter(HTMLParser):
    """Collects text lines, each with the blockquote depth it sits at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = [(0, "")]
        self.depth = 0
        self.skipping: list[str] = []
        self.pre = 0
        self.href: str | None = None
        self.link_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self.skipping.append(tag)
        if self.skipping:
            return
        self.end_block(tag)
        if tag == "blockquote":
            self.depth += 1
        elif tag == "br":
            self.lines.append((self.depth, ""))
        elif tag == "li":
            self.write("- ")
        elif tag in ("td", "th"):
            self.write(" ")
        elif tag == "a":
            self.href, self.link_text = dict(attrs).get("href"), ""
        elif tag == "img":
            self.write(dict(attrs).get("alt") or "")
        self.pre += tag == "pre"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SKIPPED:  # <br/>, <img/>; a <script/> has nothing to skip
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag == "a":
            self.close_link()
        self.end_block(tag)
        if tag == "blockquote" and self.depth:
            self.depth -= 1
        if tag == "pre" and self.pre:
            self.pre -= 1

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if not self.pre:
            self.write(SPACES.sub(" ", data))
            return
        for n, line in enumerate(data.split("\n")):
            if n:
                self.lines.append((self.depth, ""))
            self.write(line)

    def end_block(self, tag: str) -> None:
        """A block tag ends the current line; a paragraph also leaves a blank line."""
        if tag in PARAGRAPHS or tag in LINES:
            if self.lines[-1][1].strip():
                self.lines.append((self.depth, ""))
            if tag in PARAGRAPHS and len(self.lines) > 1 and self.lines[-2][1].strip():
                self.lines.append((self.depth, ""))

    def write(self, text: str) -> None:
        """Append to the current line, starting a new one when the quote depth changed."""
        depth, line = self.lines[-1]
        if depth != self.depth and line.strip():
            self.lines.append((self.depth, ""))
            line = ""
        if not line.strip() and not self.pre:
            text = text.lstrip()
        self.lines[-1] = (self.depth, line + text)
        if self.href is not None:
            self.link_text += text

    def close_link(self) -> None:
        """Keep a link's address after its text, unless the text already shows it."""
        href, text = self.href or "", self.link_text.strip()
        self.href = None
        if href.lower().startswith(LINK_SCHEMES) and href not in text:
            self.write(f" <{href}>" if text else href)


def html_to_text(html: str) -> str:
    """The text a reader sees in ``html``, blockquotes as ``>``-quoted lines."""
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    lines = [(">" * depth + " " + line if depth and line.strip() else line).rstrip()
             for depth, line in writer.lines]
    kept = [line for n, line in enumerate(lines) if line or (n > 0 and lines[n - 1])]
    return "\n".join(kept).strip("\n")
