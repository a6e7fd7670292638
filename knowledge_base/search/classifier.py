"""A light article classifier trained at index time on the knowledge base's own texts.

Example questions are labelled data: a linear model over word and character n-grams plus
the sentence embedding learns which words tell articles apart, which plain similarity
search cannot. Its margins are one of the scores the engine fuses.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

C = 0.3
EMBEDDING_WEIGHT = 2.0  # the embedding's share next to the n-grams' (each row has norm 1)
MAX_ITERATIONS = 5000


class ArticleClassifier:
    """One-vs-rest linear SVM; ``margins`` of the articles it was trained on."""

    def __init__(self, version: int) -> None:
        self.version = version  # the index version it was trained at
        self._words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5),
                                      sublinear_tf=True, min_df=2)
        self._model = LinearSVC(C=C, max_iter=MAX_ITERATIONS, random_state=0)
        self.article_ids = np.zeros(0, np.int64)

    @staticmethod
    def can_learn(labels: np.ndarray) -> bool:
        """Two articles at least, and more texts than articles, or there is nothing to learn."""
        distinct = len(np.unique(labels))
        return distinct >= 2 and len(labels) > distinct

    def fit(self, texts: list[str], vectors: np.ndarray, labels: np.ndarray) -> None:
        words = self._words.fit_transform(texts)
        chars = self._chars.fit_transform(texts)
        self._model.fit(self._join(words, chars, vectors), labels)
        self.article_ids = self._model.classes_.astype(np.int64)

    def margins(self, text: str, vector: np.ndarray) -> np.ndarray:
        """One margin per ``article_ids`` entry: above zero means "this article"."""
        features = self._join(self._words.transform([text]), self._chars.transform([text]),
                              vector.reshape(1, -1))
        scores = self._model.decision_function(features).reshape(-1)
        if len(self.article_ids) == 2:  # a binary model scores the second class only
            scores = np.array([-scores[0], scores[0]])
        return scores

    @staticmethod
    def _join(words: csr_matrix, chars: csr_matrix, vectors: np.ndarray) -> csr_matrix:
        return hstack([words, chars, csr_matrix(vectors * EMBEDDING_WEIGHT)]).tocsr()
