"""BM25 over chunk texts, updated in place when one article changes.

Retrieval walks the postings of the query's selective terms only (a term in more than
``SCAN_LIMIT`` chunks adds little but costs much); every candidate, the dense ones
included, is then scored with the full BM25 formula over all query terms.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

from knowledge_base.search.text import tokens

K1, B = 1.2, 0.75
SCAN_LIMIT = 5000


class LexicalIndex(Protocol):
    def add(self, ids: Sequence[int], texts: Sequence[str]) -> None: ...
    def remove(self, ids: Iterable[int]) -> None: ...
    def search(self, query: str, k: int, also: Iterable[int] = ()) -> list[tuple[int, float]]:
        ...


class BM25Index:
    """Okapi BM25 (k1=1.2, b=0.75) with postings kept in dictionaries."""

    def __init__(self) -> None:
        self._postings: dict[str, dict[int, int]] = {}
        self._terms: dict[int, list[str]] = {}  # chunk id → its distinct terms, for removal
        self._lengths: dict[int, int] = {}
        self._total_length = 0

    def __len__(self) -> int:
        return len(self._lengths)

    def add(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        self.remove(ids)
        for chunk_id, text in zip(ids, texts, strict=True):
            counts = Counter(tokens(text))
            for term, tf in counts.items():
                self._postings.setdefault(term, {})[chunk_id] = tf
            self._terms[chunk_id] = list(counts)
            length = sum(counts.values())
            self._lengths[chunk_id] = length
            self._total_length += length

    def remove(self, ids: Iterable[int]) -> None:
        for chunk_id in ids:
            for term in self._terms.pop(chunk_id, ()):
                postings = self._postings[term]
                del postings[chunk_id]
                if not postings:
                    del self._postings[term]
            self._total_length -= self._lengths.pop(chunk_id, 0)

    def search(self, query: str, k: int, also: Iterable[int] = ()) -> list[tuple[int, float]]:
        """The ``k`` best (chunk id, score) pairs among the matches and ``also``."""
        terms = [t for t in dict.fromkeys(tokens(query)) if t in self._postings]
        if not terms:
            return []
        candidates = set(also).intersection(self._lengths)
        for term in terms:
            postings = self._postings[term]
            if len(postings) <= SCAN_LIMIT:
                candidates.update(postings)
        scored = ((chunk_id, self._score(chunk_id, terms)) for chunk_id in candidates)
        ranked = sorted((pair for pair in scored if pair[1] > 0), key=lambda p: -p[1])
        return ranked[:k]

    def _score(self, chunk_id: int, terms: list[str]) -> float:
        n = len(self._lengths)
        norm = K1 * (1 - B + B * self._lengths[chunk_id] * n / max(self._total_length, 1))
        score = 0.0
        for term in terms:
            postings = self._postings[term]
            tf = postings.get(chunk_id)
            if tf:
                idf = math.log(1 + (n - len(postings) + 0.5) / (len(postings) + 0.5))
                score += idf * tf * (K1 + 1) / (tf + norm)
        return score
