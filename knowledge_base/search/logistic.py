"""Logistic regressions for the search and the assistant, scikit-learn imported on first
use: it takes a second to import, and most processes (the worker, the CLI) never fit one."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression


def fitted_logistic(features: Any, labels: Any, *, regularisation: float,
                    max_iterations: int, sample_weight: Any = None,
                    class_weight: str | None = None) -> LogisticRegression:
    """A logistic regression fitted on the rows. Stopping at the iteration cap is fine for
    ranking and scoring: that warning is noise here."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=regularisation, max_iter=max_iterations,
                               class_weight=class_weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(features, labels, sample_weight=sample_weight)
    return model


def tfidf_vectorizer(**options: Any) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(**options)
