"""Tokens for lexical matching: lower-case, accents folded, stop words dropped."""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[0-9a-z]+(?:[-_/.][0-9a-z]+)*")
# Function words in the two shipped languages; they carry no meaning for ranking.
_STOP_WORDS = """
a an and are as at be by can do does for from how i in is it my of on or so that the this
to was what when where which who why will with you your me we our im have has
au aux avec ce ces dans de des du elle en est et il je la le les leur ma mais me mes mon ne
nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre
vous y
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


def tokens(text: str) -> list[str]:
    """Word tokens; codes like ``AB-1234`` or ``v2.1`` stay whole. Single letters go too:
    elided French articles (l', d', j') and stray initials only add noise."""
    folded = unicodedata.normalize("NFKD", text.lower())
    ascii_text = folded.encode("ascii", "ignore").decode()
    return [word for word in WORD.findall(ascii_text)
            if len(word) > 1 and word not in STOP_WORDS]
