"""A light model trained on the knowledge base's own example questions at index time.

Multinomial logistic regression over the question vectors, one class per article: it
learns which directions of the embedding space tell the articles apart, where the
nearest-example score only sees distance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from knowledge_base.search.embedder import Vectors
from knowledge_base.search.logistic import fitted_logistic

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

MAX_ARTICLES = 300  # above this, training costs more than it adds; search goes without it
MIN_ARTICLES = 2
REGULARISATION = 10.0
MAX_ITERATIONS = 300


class ArticleClassifier:
    """Log-probabilities of each article given a query vector."""

    def __init__(self, model: LogisticRegression) -> None:
        self._model = model
        self.article_ids = [int(i) for i in model.classes_]

    @classmethod
    def train(cls, questions: dict[int, Vectors]) -> ArticleClassifier | None:
        """Trained on every article's question vectors; None when there is nothing to learn."""
        articles = [a for a, vectors in questions.items() if len(vectors)]
        if not MIN_ARTICLES <= len(articles) <= MAX_ARTICLES:
            return None
        features = np.vstack([questions[a] for a in articles])
        labels = np.concatenate([np.full(len(questions[a]), a) for a in articles])
        model = fitted_logistic(features, labels, regularisation=REGULARISATION,
                                max_iterations=MAX_ITERATIONS)
        return cls(model)

    def log_proba_many(self, vectors: Vectors) -> list[dict[int, float]]:
        """Each row's log-probability of each article, in one model call."""
        return [dict(zip(self.article_ids, row, strict=True))
                for row in self._model.predict_log_proba(vectors).tolist()]
