"""Personal data out of text drafted from conversations: email addresses, phone numbers and
the customers' names become placeholders the knowledge manager sees and rewords."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits with the usual separators; it is a phone number when it holds 8 to 15
# digits (E.164's most), so prices and order numbers stay.
NUMBER = re.compile(r"(?<![\w+])\+?\(?\d[\d .()-]*\d(?!\w)")
PHONE_DIGITS = range(8, 16)
WORD = re.compile(r"\w[\w'\u2019-]*")


@dataclass(frozen=True)
class Scrubber:
    """Call it on a text: ``[email]``, ``[phone]`` and ``[name]`` replace what they name."""

    names: re.Pattern[str] | None

    def __call__(self, text: str) -> str:
        text = NUMBER.sub(_phone, EMAIL.sub("[email]", text))
        return self.names.sub("[name]", text) if self.names else text


def scrubber(names: Iterable[str]) -> Scrubber:
    """A scrubber removing every word (of two letters or more) of ``names``, in any case."""
    words = sorted({w for name in names for w in WORD.findall(name) if len(w) >= 2},
                   key=lambda w: (-len(w), w))
    if not words:
        return Scrubber(None)
    return Scrubber(re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b",
                               re.IGNORECASE))


def _phone(match: re.Match[str]) -> str:
    digits = sum(c.isdigit() for c in match.group())
    return "[phone]" if digits in PHONE_DIGITS else match.group()
