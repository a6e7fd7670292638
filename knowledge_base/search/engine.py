"""One process's search index in memory: vectors, BM25, chunk metadata, classifier."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

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
KEPT_FILTERS = 16  # distinct filters whose admitted articles are kept between changes


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


@dataclass(frozen=True)
class QuestionMatrix:
    """Every article's example-question vectors in one matrix, an article's rows together,
    so one product gives a batch of queries each article's nearest question."""

    columns: dict[int, int]  # article id → its column in ``nearest``
    starts: npt.NDArray[np.intp]
    transposed: Vectors  # a column per question

    @classmethod
    def of(cls, questions: Mapping[int, Vectors]) -> QuestionMatrix | None:
        kept = [(article_id, vectors) for article_id, vectors in questions.items()
                if len(vectors)]
        if not kept:
            return None
        sizes = [len(vectors) for _, vectors in kept]
        return cls({article_id: n for n, (article_id, _) in enumerate(kept)},
                   np.cumsum([0, *sizes[:-1]]),
                   np.ascontiguousarray(np.vstack([vectors for _, vectors in kept]).T))

    def nearest(self, vectors: Vectors) -> npt.NDArray[np.float32]:
        """Per query row, each article's highest cosine to one of its questions."""
        return np.maximum.reduceat(vectors @ self.transposed, self.starts, axis=1)


@dataclass
class SearchIndex:
    vectors: VectorIndex
    lexical: LexicalIndex
    version: int = 0
    chunks: dict[int, ChunkRow] = field(default_factory=dict)
    by_article: dict[int, list[int]] = field(default_factory=dict)
    questions: dict[int, Vectors] = field(default_factory=dict)
    classifier: ArticleClassifier | None = None
    # Derived from the rows above, rebuilt on first use after a change (``_changed``).
    _admitted: dict[SearchFilters, frozenset[int]] = field(default_factory=dict, repr=False)
    _question_matrix: QuestionMatrix | None = field(default=None, repr=False)

    def replace_articles(self, article_ids: Iterable[int], rows: Sequence[ChunkRow]) -> None:
        """Drop every chunk of ``article_ids``, then add ``rows`` (which carry vectors)."""
        for article_id in set(article_ids):
            old = self.by_article.pop(article_id, [])
            self.vectors.remove(old)
            self.lexical.remove(old)
            self.questions.pop(article_id, None)
            for chunk_id in old:
                del self.chunks[chunk_id]
        self._changed()
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
        self._changed()
        self.add_questions(rows)

    def add_questions(self, rows: Sequence[ChunkRow]) -> None:
        """Keep the example-question vectors the classifier trains on."""
        grouped: dict[int, list[Vectors]] = {}
        for row in rows:
            if row.kind is ChunkKind.QUESTION and row.vector is not None:
                grouped.setdefault(row.article_id, []).append(_row_vector(row))
        for article_id, vectors in grouped.items():
            self.questions[article_id] = np.vstack(vectors)
        self._question_matrix = None

    def _changed(self) -> None:
        self._admitted.clear()
        self._question_matrix = None

    def search(self, text: str, vector: Vectors, filters: SearchFilters,
               limit: int) -> list[SearchHit]:
        """The ``limit`` best articles admitted by ``filters``, best first."""
        return self.search_many([(text, filters)], vector.reshape(1, -1), limit)[0]

    def search_many(self, queries: Sequence[tuple[str, SearchFilters]], vectors: Vectors,
                    limit: int) -> list[list[SearchHit]]:
        """``search`` for each (text, filters) and its row of ``vectors``: one faiss call,
        one classifier call and one product with the example questions for them all."""
        if not queries:
            return []
        admitted = [self.admitted_articles(filters) for _, filters in queries]
        nearest = self._dense_many(vectors, admitted, limit)
        classifier: Sequence[dict[int, float] | None] = [None] * len(queries)
        questions: Sequence[npt.NDArray[np.float32] | None] = [None] * len(queries)
        if self.classifier is not None:
            # It scores every article, so every article needs its nearest question.
            classifier = self.classifier.log_proba_many(vectors)
            questions = self._nearest_questions(vectors)
        return [self._search(text, vector, articles, limit, near, scores, closest)
                for (text, _), vector, articles, near, scores, closest
                in zip(queries, vectors, admitted, nearest, classifier, questions,
                       strict=True)]

    def admitted_articles(self, filters: SearchFilters) -> frozenset[int]:
        """The articles ``filters`` admit (filters read article fields, which every chunk
        of an article carries), kept until the rows change."""
        articles = self._admitted.get(filters)
        if articles is None:
            if len(self._admitted) >= KEPT_FILTERS:
                self._admitted.clear()
            articles = frozenset(a for a, chunk_ids in self.by_article.items()
                                 if filters.admits(self.chunks[chunk_ids[0]]))
            self._admitted[filters] = articles
        return articles

    def _search(self, text: str, vector: Vectors, admitted: frozenset[int], limit: int,
                dense_hits: list[tuple[int, float]], classifier_scores: dict[int, float] | None,
                questions: npt.NDArray[np.float32] | None) -> list[SearchHit]:
        """One query's ranking, from its nearest admitted chunks, its classifier scores and
        (with them) each article's nearest question."""
        lexical_hits = [(c, s) for c, s in self.lexical.search(
            text, LEXICAL_K, also=[c for c, _ in dense_hits])
            if self.chunks[c].article_id in admitted]
        dense, best_chunk = self._per_article(dense_hits)
        lexical, lexical_chunk = self._per_article(lexical_hits)
        classifier = (None if classifier_scores is None else
                      {a: s for a, s in classifier_scores.items() if a in admitted})
        self._complete_dense(dense, [*lexical, *(classifier or {})], vector, questions)
        signals = Signals(dense, lexical, classifier)
        relevant = [r for r in rank(signals)
                    if r.lexical or (r.dense or 0.0) >= MIN_DENSE_WITHOUT_WORDS]
        return [SearchHit(r.article_id, self.chunks[chunk].version, chunk, r.score, r.dense,
                          r.lexical, r.classifier,
                          self.chunks[chunk].kind is ChunkKind.QUESTION)
                for r in relevant[:limit]
                for chunk in [best_chunk.get(r.article_id) or lexical_chunk.get(r.article_id)
                              or self.by_article[r.article_id][0]]]

    def _dense_many(self, vectors: Vectors, admitted: Sequence[frozenset[int]],
                    limit: int) -> list[list[tuple[int, float]]]:
        """Each query's nearest admitted chunks, at least ``DENSE_K`` looked at, fetching
        more (one faiss call for all such queries) while filters leave too few articles."""
        k, found = DENSE_K, self.vectors.search_many(vectors, DENSE_K)
        hits: list[list[tuple[int, float]]] = [[] for _ in admitted]
        wanting = list(range(len(admitted)))
        while True:
            for n, near in zip(wanting, found, strict=True):
                hits[n] = [(c, s) for c, s in near
                           if c in self.chunks and self.chunks[c].article_id in admitted[n]]
            if k >= len(self.vectors):
                return hits
            wanting = [n for n in wanting
                       if len({self.chunks[c].article_id for c, _ in hits[n]}) < limit]
            if not wanting:
                return hits
            k *= 4
            found = self.vectors.search_many(vectors[wanting], k)

    def _nearest_questions(self, vectors: Vectors) -> npt.NDArray[np.float32] | list[None]:
        """Per query row, each article's nearest example question (``QuestionMatrix``)."""
        if self._question_matrix is None:
            self._question_matrix = QuestionMatrix.of(self.questions)
        if self._question_matrix is None:
            return [None] * len(vectors)
        return self._question_matrix.nearest(vectors)

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
                        vector: Vectors, nearest: npt.NDArray[np.float32] | None) -> None:
        """Give the other signals' articles beyond the nearest chunks their own cosine, the
        nearest of their example questions (``nearest``: each article's, when computed for
        the batch): a stand-in floor would bury the right article whenever its questions
        sit just past the dense cut."""
        missing = set(articles).difference(dense)
        if nearest is not None and self._question_matrix is not None:
            columns = self._question_matrix.columns
            dense.update({a: float(nearest[columns[a]]) for a in missing if a in columns})
            return
        for article_id in missing:
            if (questions := self.questions.get(article_id)) is not None:
                dense[article_id] = float((questions @ vector).max())


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
