"""Fuse the three signals into one article ranking.

Each signal is standardised over the candidate articles (z-score), then summed with
weights: the nearest chunk's cosine (dense), the classifier's log-probability, and the
best chunk's BM25 score (lexical, weighted low: it decides near-ties, codes and rare
words). Weights were chosen on BANKING77 and hold across its variants (see
benchmarks/RESULTS.md); they are not tuned per knowledge base.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass

DENSE_WEIGHT = 1.0
CLASSIFIER_WEIGHT = 1.0
LEXICAL_WEIGHT = 0.3
PER_SIGNAL = 20  # candidate articles taken from each signal


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
    dense = _filled(signals.dense, candidates)
    lexical = {a: signals.lexical.get(a, 0.0) for a in candidates}
    fused = {a: DENSE_WEIGHT * z for a, z in _standardised(dense).items()}
    _add(fused, _standardised(lexical), LEXICAL_WEIGHT)
    if signals.classifier:
        _add(fused, _standardised(_filled(signals.classifier, candidates)), CLASSIFIER_WEIGHT)
    classifier = signals.classifier or {}
    ranked = [Ranked(a, fused[a], signals.dense.get(a), signals.lexical.get(a),
                     classifier.get(a)) for a in candidates]
    return sorted(ranked, key=lambda r: (-r.score, r.article_id))


def _candidates(signals: Signals) -> list[int]:
    sources = [signals.dense, signals.lexical, signals.classifier or {}]
    best = [sorted(s, key=lambda a, s=s: -s[a])[:PER_SIGNAL] for s in sources]
    return list(dict.fromkeys(a for top in best for a in top))


def _filled(scores: Mapping[int, float], candidates: list[int]) -> dict[int, float]:
    """A candidate the retriever did not return scores no better than its worst hit."""
    floor = min(scores.values(), default=0.0)
    return {a: scores.get(a, floor) for a in candidates}


def _standardised(scores: dict[int, float]) -> dict[int, float]:
    values = list(scores.values())
    mean = statistics.fmean(values)
    spread = statistics.pstdev(values) or 1.0
    return {a: (v - mean) / spread for a, v in scores.items()}


def _add(total: dict[int, float], scores: dict[int, float], weight: float) -> None:
    for article_id, value in scores.items():
        total[article_id] += weight * value
