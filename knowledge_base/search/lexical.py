"""BM25 over chunk texts, updated in place when one article changes.

Candidates are the chunks holding one of the query's selective terms (a term in more
than ``SCAN_LIMIT`` chunks adds little) plus the ones the caller adds (the dense hits);
each is scored with the full BM25 formula over all query terms.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from knowledge_base.search.text import tokens

K1, B = 1.2, 0.75
SCAN_LIMIT = 5000
Slots = npt.NDArray[np.int64]


class LexicalIndex(Protocol):
    def add(self, ids: Sequence[int], texts: Sequence[str]) -> None: ...
    def remove(self, ids: Iterable[int]) -> None: ...
    def search(self, query: str, k: int, also: Iterable[int] = ()) -> list[tuple[int, float]]:
        ...


class BM25Index:
    """Okapi BM25 (k1=1.2, b=0.75). Postings live in dictionaries (cheap in-place updates);
    each term's postings are also kept as arrays, rebuilt when the term changes, so a
    query scores a term's whole posting list in one vectorised step."""

    def __init__(self) -> None:
        self._postings: dict[str, dict[int, int]] = {}
        self._terms: dict[int, list[str]] = {}  # chunk id → its distinct terms, for removal
        self._slots: dict[int, int] = {}  # chunk id → its row in the arrays below
        self._free: list[int] = []
        self._ids = np.zeros(0, dtype=np.int64)
        self._lengths = np.zeros(0, dtype=np.float64)
        self._total_length = 0
        self._arrays: dict[str, tuple[Slots, npt.NDArray[np.float64]]] = {}

    def __len__(self) -> int:
        return len(self._slots)

    def add(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        self.remove(ids)
        for chunk_id, text in zip(ids, texts, strict=True):
            counts = Counter(tokens(text))
            for term, tf in counts.items():
                self._postings.setdefault(term, {})[chunk_id] = tf
                self._arrays.pop(term, None)
            self._terms[chunk_id] = list(counts)
            slot = self._allocate(chunk_id)
            self._lengths[slot] = sum(counts.values())
            self._total_length += sum(counts.values())

    def remove(self, ids: Iterable[int]) -> None:
        for chunk_id in ids:
            for term in self._terms.pop(chunk_id, ()):
                postings = self._postings[term]
                del postings[chunk_id]
                self._arrays.pop(term, None)
                if not postings:
                    del self._postings[term]
            slot = self._slots.pop(chunk_id, None)
            if slot is not None:
                self._total_length -= int(self._lengths[slot])
                self._lengths[slot] = 0
                self._free.append(slot)

    def search(self, query: str, k: int, also: Iterable[int] = ()) -> list[tuple[int, float]]:
        """The ``k`` best (chunk id, score) pairs among the matches and ``also``."""
        terms = [t for t in dict.fromkeys(tokens(query)) if t in self._postings]
        if not terms:
            return []
        scores = np.zeros(len(self._ids))
        candidate = np.zeros(len(self._ids), dtype=bool)
        candidate[[self._slots[c] for c in also if c in self._slots]] = True
        for term in terms:
            slots, contributions = self._scored_postings(term)
            scores[slots] += contributions
            if len(slots) <= SCAN_LIMIT:
                candidate[slots] = True
        return self._best(np.flatnonzero(candidate & (scores > 0)), scores, k)

    def _scored_postings(self, term: str) -> tuple[Slots, npt.NDArray[np.float64]]:
        """Each chunk holding ``term`` (as slots) and the term's BM25 part of its score."""
        slots, tfs = self._term_arrays(term)
        n = len(self._slots)
        idf = math.log(1 + (n - len(slots) + 0.5) / (len(slots) + 0.5))
        average = max(self._total_length, 1) / n
        norm = K1 * (1 - B + B * self._lengths[slots] / average)
        return slots, idf * tfs * (K1 + 1) / (tfs + norm)

    def _term_arrays(self, term: str) -> tuple[Slots, npt.NDArray[np.float64]]:
        if term not in self._arrays:
            postings = self._postings[term]
            slots = np.fromiter((self._slots[c] for c in postings), dtype=np.int64,
                                count=len(postings))
            tfs = np.fromiter(postings.values(), dtype=np.float64, count=len(postings))
            self._arrays[term] = (slots, tfs)
        return self._arrays[term]

    def _best(self, slots: Slots, scores: npt.NDArray[np.float64],
              k: int) -> list[tuple[int, float]]:
        """Top ``k`` scores among ``slots`` (all positive); ties go to the lower chunk id."""
        values = scores[slots]
        if len(slots) > k:  # keep the k best and whatever ties the k-th, then sort those
            kept = values >= np.partition(values, len(values) - k)[len(values) - k]
            slots, values = slots[kept], values[kept]
        order = np.lexsort((self._ids[slots], -values))[:k]
        return list(zip(self._ids[slots[order]].tolist(), values[order].tolist(), strict=True))

    def _allocate(self, chunk_id: int) -> int:
        if not self._free:
            self._grow()
        slot = self._free.pop()
        self._slots[chunk_id] = slot
        self._ids[slot] = chunk_id
        return slot

    def _grow(self) -> None:
        size = len(self._ids)
        capacity = max(64, size * 2)
        self._ids = np.concatenate([self._ids, np.zeros(capacity - size, dtype=np.int64)])
        self._lengths = np.concatenate([self._lengths, np.zeros(capacity - size)])
        self._free.extend(range(capacity - 1, size - 1, -1))
