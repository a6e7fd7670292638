"""Fuse the three signals into one article ranking.

Each signal is standardised over the candidate articles (z-score), then summed with
weights: the nearest chunk's cosine (dense), the classifier's log-probability, and the
best chunk's BM25 score (lexical, weighted low: it decides near-ties, codes and rare
words). Weights were chosen on BANKING77 and hold across its variants (see
benchmarks/RESULTS.md); they are not tuned per knowledge base.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DENSE_WEIGHT = 1.0
CLASSIFIER_WEIGHT = 1.0
LEXICAL_WEIGHT = 0.3
PER_SIGNAL = 20  # candidate articles taken from each signal
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Signals:
    """Per-article scores from each retriever (an absent article has no entry)."""

    dense: Mapping[int, float]
    lexical: Mapping[int, float]
    classifier: Mapping[int, float] | None = None


@dataclass(frozen=True)
class Ranked:
    article_id: int
    score: float
    dense: float | None
    lexical: float | None
    classifier: float | None


def rank(signals: Signals) -> list[Ranked]:
    """Candidate articles, best first."""
    candidates = _candidates(signals)
    if not candidates:
        return []
    classifier = signals.classifier or {}
    ranked = [Ranked(a, score, signals.dense.get(a), signals.lexical.get(a), classifier.get(a))
              for a, score in zip(candidates, _fused(signals, candidates).tolist(), strict=True)]
    return sorted(ranked, key=lambda r: (-r.score, r.article_id))


def _fused(signals: Signals, candidates: list[int]) -> Floats:
    """Each candidate's weighted sum of its standardised signals, in ``candidates`` order."""
    columns = [_filled(signals.dense, candidates), _column(signals.lexical, candidates, 0.0)]
    if signals.classifier:
        columns.append(_filled(signals.classifier, candidates))
    dense, lexical, *classifier = _standardised(np.vstack(columns))
    total = DENSE_WEIGHT * dense + LEXICAL_WEIGHT * lexical
    for column in classifier:
        total += CLASSIFIER_WEIGHT * column
    return total


def _candidates(signals: Signals) -> list[int]:
    sources = [signals.dense, signals.lexical, signals.classifier or {}]
    best = [sorted(s, key=s.__getitem__, reverse=True)[:PER_SIGNAL] for s in sources]
    return list(dict.fromkeys(a for top in best for a in top))


def _filled(scores: Mapping[int, float], candidates: list[int]) -> Floats:
    """A candidate the retriever did not return scores no better than its worst hit."""
    return _column(scores, candidates, min(scores.values(), default=0.0))


def _column(scores: Mapping[int, float], candidates: list[int], missing: float) -> Floats:
    """The candidates' scores as an array, ``missing`` for those without one."""
    return np.fromiter((scores.get(a, missing) for a in candidates), dtype=np.float64,
                       count=len(candidates))


def _standardised(rows: Floats) -> Floats:
    """Each row's z-scores over the candidates; all zero in a row that does not tell them
    apart."""
    spread = rows.max(axis=1) - rows.min(axis=1)
    deviations = rows - rows.mean(axis=1, keepdims=True)
    return np.divide(deviations, rows.std(axis=1, keepdims=True),
                     out=np.zeros_like(rows), where=(spread > 0)[:, None])
