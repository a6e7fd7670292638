"""One process's search index in memory: vectors, BM25, chunk metadata, classifier."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from knowledge_base.models import ArticleStatus, Audience, ChunkKind
from knowledge_base.search.classifier import ArticleClassifier
from knowledge_base.search.embedder import Vectors
from knowledge_base.search.lexical import LexicalIndex
from knowledge_base.search.ranking import Signals, rank
from knowledge_base.search.store import ChunkRow
from knowledge_base.search.vector_index import VectorIndex

DENSE_K = 100
LEXICAL_K = 100
# An article sharing no word with the query needs at least this cosine to be returned:
# below it, the model's nearest neighbour is noise ("zebra" finds *something*).
MIN_DENSE_WITHOUT_WORDS = 0.3


@dataclass(frozen=True)
class SearchFilters:
    """Which chunks a search may return. The defaults suit the public: published, public."""

    language: str | None = None
    audiences: tuple[Audience, ...] = (Audience.PUBLIC,)
    statuses: tuple[ArticleStatus, ...] = (ArticleStatus.PUBLISHED,)
    category: str | None = None

    def admits(self, chunk: ChunkRow) -> bool:
        return (chunk.audience in self.audiences and chunk.status in self.statuses
                and (not self.language or chunk.language == self.language)
                and (not self.category or chunk.category == self.category))


@dataclass(frozen=True)
class SearchHit:
    """A ranked article: the version indexed, its best chunk and each signal's score."""

    article_id: int
    version: int
    chunk_id: int
    score: float
    dense: float | None
    lexical: float | None
    classifier: float | None
    from_question: bool = False  # the best chunk is one of the article's example questions


@dataclass
class SearchIndex:
    vectors: VectorIndex
    lexical: LexicalIndex
    version: int = 0
    chunks: dict[int, ChunkRow] = field(default_factory=dict)
    by_article: dict[int, list[int]] = field(default_factory=dict)
    questions: dict[int, Vectors] = field(default_factory=dict)
    classifier: ArticleClassifier | None = None

    def replace_articles(self, article_ids: Iterable[int], rows: Sequence[ChunkRow]) -> None:
        """Drop every chunk of ``article_ids``, then add ``rows`` (which carry vectors)."""
        for article_id in set(article_ids):
            old = self.by_article.pop(article_id, [])
            self.vectors.remove(old)
            self.lexical.remove(old)
            self.questions.pop(article_id, None)
            for chunk_id in old:
                del self.chunks[chunk_id]
        self.add_rows(rows, vector_matrix(rows))

    def add_rows(self, rows: Sequence[ChunkRow], vectors: Vectors | None) -> None:
        """Index rows; ``vectors`` None when the dense index already holds them."""
        ids = [row.id for row in rows]
        if vectors is not None:
            self.vectors.add(ids, vectors)
        self.lexical.add(ids, [lexical_text(row) for row in rows])
        for row in rows:
            self.chunks[row.id] = replace(row, vector=None)
            self.by_article.setdefault(row.article_id, []).append(row.id)
        self.add_questions(rows)

    def add_questions(self, rows: Sequence[ChunkRow]) -> None:
        """Keep the example-question vectors the classifier trains on."""
        grouped: dict[int, list[Vectors]] = {}
        for row in rows:
            if row.kind is ChunkKind.QUESTION and row.vector is not None:
                grouped.setdefault(row.article_id, []).append(_row_vector(row))
        for article_id, vectors in grouped.items():
            self.questions[article_id] = np.vstack(vectors)

    def search(self, text: str, vector: Vectors, filters: SearchFilters,
               limit: int) -> list[SearchHit]:
        """The ``limit`` best articles admitted by ``filters``, best first."""
        return self.search_many([(text, filters)], vector.reshape(1, -1), limit)[0]

    def search_many(self, queries: Sequence[tuple[str, SearchFilters]], vectors: Vectors,
                    limit: int) -> list[list[SearchHit]]:
        """``search`` for each (text, filters) and its row of ``vectors``: one faiss call
        and one classifier call for them all."""
        if not queries:
            return []
        nearest = self.vectors.search_many(vectors, DENSE_K)
        classifier: Sequence[dict[int, float] | None] = (
            self.classifier.log_proba_many(vectors) if self.classifier is not None
            else [None] * len(queries))
        return [self._search(text, vector, filters, limit, near, scores)
                for (text, filters), vector, near, scores
                in zip(queries, vectors, nearest, classifier, strict=True)]

    def _search(self, text: str, vector: Vectors, filters: SearchFilters, limit: int,
                nearest: list[tuple[int, float]],
                classifier_scores: dict[int, float] | None) -> list[SearchHit]:
        """One query's ranking, from its ``DENSE_K`` nearest chunks and classifier scores."""
        dense_hits = self._dense(vector, filters, limit, nearest)
        lexical_hits = [(c, s) for c, s in self.lexical.search(
            text, LEXICAL_K, also=[c for c, _ in dense_hits]) if filters.admits(self.chunks[c])]
        dense, best_chunk = self._per_article(dense_hits)
        lexical, lexical_chunk = self._per_article(lexical_hits)
        classifier = self._admitted(classifier_scores, filters)
        self._complete_dense(dense, [*lexical, *(classifier or {})], vector)
        signals = Signals(dense, lexical, classifier)
        relevant = [r for r in rank(signals)
                    if r.lexical or (r.dense or 0.0) >= MIN_DENSE_WITHOUT_WORDS]
        return [SearchHit(r.article_id, self.chunks[chunk].version, chunk, r.score, r.dense,
                          r.lexical, r.classifier,
                          self.chunks[chunk].kind is ChunkKind.QUESTION)
                for r in relevant[:limit]
                for chunk in [best_chunk.get(r.article_id) or lexical_chunk.get(r.article_id)
                              or self.by_article[r.article_id][0]]]

    def _dense(self, vector: Vectors, filters: SearchFilters, limit: int,
               nearest: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Nearest admitted chunks (``nearest``: the ``DENSE_K`` first), fetching more
        while filters leave too few articles."""
        k, found = DENSE_K, nearest
        while True:
            hits = [(c, s) for c, s in found
                    if c in self.chunks and filters.admits(self.chunks[c])]
            articles = {self.chunks[c].article_id for c, _ in hits}
            if len(articles) >= limit or k >= len(self.vectors):
                return hits
            k *= 4
            found = self.vectors.search(vector, k)

    def _per_article(self, hits: list[tuple[int, float]],
                     ) -> tuple[dict[int, float], dict[int, int]]:
        """Each article's best score and the chunk that gave it (hits come best first)."""
        scores: dict[int, float] = {}
        chunks: dict[int, int] = {}
        for chunk_id, score in hits:
            article_id = self.chunks[chunk_id].article_id
            if article_id not in scores:
                scores[article_id], chunks[article_id] = score, chunk_id
        return scores, chunks

    def _complete_dense(self, dense: dict[int, float], articles: Iterable[int],
                        vector: Vectors) -> None:
        """Give the other signals' articles beyond the nearest chunks their own cosine, the
        nearest of their example questions: a stand-in floor would bury the right article
        whenever its questions sit just past the dense cut."""
        for article_id in set(articles).difference(dense):
            questions = self.questions.get(article_id)
            if questions is not None:
                dense[article_id] = float((questions @ vector).max())

    def _admitted(self, scores: dict[int, float] | None,
                  filters: SearchFilters) -> dict[int, float] | None:
        """The classifier's scores of the articles ``filters`` admit."""
        if scores is None:
            return None
        # Filters read article fields, which every chunk of the article carries.
        return {a: s for a, s in scores.items()
                if a in self.by_article and filters.admits(self.chunks[self.by_article[a][0]])}


def _row_vector(row: ChunkRow) -> Vectors:
    assert row.vector is not None
    return np.frombuffer(row.vector, dtype=np.float32)


def lexical_text(row: ChunkRow) -> str:
    """What BM25 matches: a body chunk with its title and heading (codes often sit there)."""
    if row.kind is ChunkKind.QUESTION:
        return row.text
    return " ".join(part for part in (row.title, row.heading, row.text) if part)


def vector_matrix(rows: Sequence[ChunkRow]) -> Vectors:
    """The rows' stored vectors stacked, one per row."""
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack([_row_vector(row) for row in rows])
