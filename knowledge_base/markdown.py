"""Article bodies: Markdown rendered to HTML, then sanitized (an allow-list) before it is kept."""

from __future__ import annotations

from markdown_it import MarkdownIt

from helpdesk.sanitize import sanitize_html

# Raw HTML is let through the parser on purpose: imported articles often carry some, and the
# sanitizer, not the parser, is the one gate that decides what survives.
_parser = MarkdownIt("commonmark", {"html": True}).enable("table")


def render_markdown(text: str) -> str:
    """Sanitized HTML for a Markdown text: no scripts, event attributes or unsafe links."""
    return sanitize_html(_parser.render(text))
