"""The lexical index: the ``LexicalIndex`` interface and an incremental BM25.

``bm25s`` builds a static index (rebuilding 50k chunks takes seconds), while an edited
article must be searchable at once; so the postings live here, updated in place, and
only the stop-word lists come from ``bm25s``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Protocol

import numpy as np
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH

_WORD = re.compile(r"\w+")
STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(STOPWORDS_FRENCH)


class LexicalIndex(Protocol):
    """Texts under integer ids (the chunk ids), ranked for a query by word overlap."""

    def add(self, ids: np.ndarray, texts: list[str]) -> None: ...

    def remove(self, ids: np.ndarray) -> None: ...

    def search(self, query: str, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best ``(ids, scores)`` with a positive score, among ``allowed`` if given."""
        ...


def tokenize(text: str) -> list[str]:
    """Lower-cased words and numbers, stop words left out (codes like ``A-1234`` split)."""
    return [word for word in _WORD.findall(text.lower()) if word not in STOPWORDS]


class BM25Index:
    """Okapi BM25 (Lucene's idf) whose postings grow in place; removed rows are skipped,
    then dropped once they outnumber the live ones."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._reset()

    def _reset(self) -> None:
        self._terms: dict[str, int] = {}
        self._postings: list[tuple[list[int], list[int]]] = []  # per term: rows, counts
        self._frozen: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._df: list[int] = []
        self._row_ids: list[int] = []
        self._row_terms: list[Counter[int] | None] = []  # None once removed
        self._lengths: list[int] = []
        self._row_of: dict[int, int] = {}
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._total_length = 0

    def __len__(self) -> int:
        return len(self._row_of)

    def add(self, ids: np.ndarray, texts: list[str]) -> None:
        for chunk_id, text in zip(ids, texts, strict=True):
            self._add_row(int(chunk_id), Counter(self._term_ids(tokenize(text))))
        self._arrays = None

    def remove(self, ids: np.ndarray) -> None:
        for chunk_id in ids:
            row = self._row_of.pop(int(chunk_id), None)
            if row is not None:
                self._forget_row(row)
        self._arrays = None
        if len(self._row_ids) > 2 * len(self._row_of) + 1000:
            self._compact()

    def search(self, query: str, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        terms = {self._terms[word] for word in tokenize(query) if word in self._terms}
        if not terms or not self._row_of:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        row_ids, lengths, live = self._row_arrays()
        scores = np.zeros(len(row_ids), np.float32)
        norm = self.k1 * (1 - self.b + self.b * lengths / (self._total_length / len(self)))
        for term in terms:
            rows, counts = self._posting(term)
            scores[rows] += self._idf(term) * counts * (self.k1 + 1) / (counts + norm[rows])
        keep = live if allowed is None else live & np.isin(row_ids, allowed)
        return _top(row_ids, np.where(keep, scores, 0), k)

    def _term_ids(self, words: list[str]) -> list[int]:
        for word in words:
            if word not in self._terms:
                self._terms[word] = len(self._terms)
                self._postings.append(([], []))
                self._df.append(0)
        return [self._terms[word] for word in words]

    def _add_row(self, chunk_id: int, counts: Counter[int]) -> None:
        if chunk_id in self._row_of:
            self._forget_row(self._row_of.pop(chunk_id))
        row = len(self._row_ids)
        self._row_of[chunk_id] = row
        self._row_ids.append(chunk_id)
        self._row_terms.append(counts)
        self._lengths.append(counts.total())
        self._total_length += counts.total()
        for term, count in counts.items():
            rows, tfs = self._postings[term]
            rows.append(row)
            tfs.append(count)
            self._df[term] += 1
            self._frozen.pop(term, None)

    def _forget_row(self, row: int) -> None:
        counts = self._row_terms[row]
        assert counts is not None
        for term in counts:
            self._df[term] -= 1
        self._total_length -= self._lengths[row]
        self._row_terms[row] = None

    def _compact(self) -> None:
        live = [(self._row_ids[row], self._row_terms[row]) for row in sorted(self._row_of.values())]
        self._reset()
        for chunk_id, counts in live:
            assert counts is not None
            self._add_row(chunk_id, counts)

    def _row_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._arrays is None:
            live = np.array([terms is not None for terms in self._row_terms], bool)
            self._arrays = (np.array(self._row_ids, np.int64),
                            np.array(self._lengths, np.float32), live)
        return self._arrays

    def _posting(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        if term not in self._frozen:
            rows, counts = self._postings[term]
            self._frozen[term] = (np.array(rows, np.int64), np.array(counts, np.float32))
        return self._frozen[term]

    def _idf(self, term: int) -> float:
        df = self._df[term]
        return math.log(1 + (len(self) - df + 0.5) / (df + 0.5))


def _top(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    positive = np.flatnonzero(scores > 0)
    if len(positive) > k:
        positive = positive[np.argpartition(-scores[positive], k - 1)[:k]]
    best = positive[np.argsort(-scores[positive], kind="stable")]
    return ids[best], scores[best]
