"""Internal notes show the colleagues they mention highlighted."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from helpdesk.services.mentions import MENTION
from helpdesk.web import bp


@bp.app_template_filter("with_mentions")
def with_mentions(body: str, meta: dict[str, Any] | None) -> Markup:
    """``body`` escaped, each mention stored with the note (``meta["mentions"]``) wrapped
    in ``<span class="mention">``; other ``@words`` stay plain text."""
    handles = {m["handle"] for m in (meta or {}).get("mentions", [])}
    if not handles:
        return escape(body)
    parts, end = [], 0
    for match in MENTION.finditer(body):
        if match.group(1).lower() in handles:
            parts += [escape(body[end:match.start()]),
                      Markup('<span class="mention">{}</span>').format(match.group(0))]
            end = match.end()
    return Markup("").join([*parts, escape(body[end:])])
