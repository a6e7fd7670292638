"""Does the customer ask for a person? Learnt, not keyword-matched.

A logistic regression over the sentence embeddings of ``bot.human_phrases`` (English and
French phrasings that ask for a person, and many that do not, several with the same words
in another sense). It reads the message vector the search already computed, so the check
costs one dot product.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from bot.human_phrases import ASKING, NOT_ASKING
from knowledge_base.search.embedder import Embedder, Vectors
from knowledge_base.search.logistic import fitted_logistic

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

REGULARISATION = 30.0
THRESHOLD = 0.7  # a wrong hand-over costs an agent, a missed one a second ask


class HumanRequestDetector:
    """Trained on first use with ``embedder`` (the model that embeds the messages)."""

    def __init__(self, embedder: Embedder, threshold: float = THRESHOLD) -> None:
        self._embedder = embedder
        self.threshold = threshold
        self._model: LogisticRegression | None = None
        self._lock = threading.Lock()

    def probabilities(self, vectors: Vectors) -> list[float]:
        """How likely the message of each row of ``vectors`` asks for a person (0 to 1)."""
        return self._trained().predict_proba(vectors)[:, 1].tolist()

    def asks_for_human(self, vector: Vectors) -> bool:
        return self.asks_for_human_many(vector.reshape(1, -1))[0]

    def asks_for_human_many(self, vectors: Vectors) -> list[bool]:
        """``asks_for_human`` for each row of ``vectors``, in one model call."""
        return [p >= self.threshold for p in self.probabilities(vectors)]

    def asks_for_human_text(self, text: str) -> bool:
        """The same for a text (embeds it: prefer the vector when there is one)."""
        return self.asks_for_human(self._embedder.encode([text])[0])

    def _trained(self) -> LogisticRegression:
        with self._lock:
            if self._model is None:
                self._model = train(self._embedder)
            return self._model


def train(embedder: Embedder) -> LogisticRegression:
    """The detector's model over the labelled phrasings, both classes weighted equally."""
    vectors = embedder.encode([*ASKING, *NOT_ASKING])
    labels = np.array([1] * len(ASKING) + [0] * len(NOT_ASKING))
    return fitted_logistic(vectors, labels, regularisation=REGULARISATION,
                           max_iterations=1000, class_weight="balanced")
