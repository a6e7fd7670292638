"""Macro texts: ``{{customer.name}}``-style placeholders from a fixed list, filled in one pass.

The result is plain text: pages escape it when they render it (Jinja autoescaping), as
they do every message body, so a customer's name can never inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from helpdesk.errors import ValidationFailed

NAMES = ("customer.name", "customer.email", "agent.name", "conversation.id",
         "conversation.subject")
PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def check_template(template: str, field: str = "body") -> None:
    """Refuse a text with an unknown or unclosed placeholder, naming it."""
    unknown = [f"{{{{{name}}}}}" for name in _used(template) if name not in NAMES]
    if unknown:
        known = ", ".join(f"{{{{{name}}}}}" for name in NAMES)
        raise ValidationFailed(f"unknown placeholder {', '.join(unknown)} (known: {known})",
                               field=field)
    if "{{" in PLACEHOLDER.sub("", template):
        raise ValidationFailed("a placeholder is not closed: write {{name}}", field=field)


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill the placeholders; a value is never read as a template itself (one pass)."""
    return PLACEHOLDER.sub(lambda match: values[match.group(1).strip()], template)


def _used(template: str) -> list[str]:
    """The placeholder names in order of first use, spaces inside the braces ignored."""
    return list(dict.fromkeys(m.group(1).strip() for m in PLACEHOLDER.finditer(template)))
