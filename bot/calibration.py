"""Learn, from the knowledge base itself, how far to trust the search's best hit.

No similarity threshold holds across knowledge bases: how close a right answer scores
depends on how many articles there are, how alike they are, how many example questions
they carry. So the assistant calibrates on each knowledge base when it is indexed. In each
of a few folds, some articles are set aside and play the questions the knowledge base
cannot answer (their example questions become *out-of-scope* queries), and some example
questions of the other articles are held out as *in-scope* queries. A fold index is built
in memory exactly as the live one (faiss, BM25, the ranking classifier) from what is
left, and every held-out question goes through the real ``SearchIndex.search``.

From these searches it fits a logistic model of "the best hit is the right article"
over signals of the hits (see ``FEATURES``) and draws the answer/escalate line where it
maximises *right answers to answerable questions + w * hand-overs of unanswerable ones*,
both as rates over the held-out queries (``w`` is ``bot_handover_weight``): no benchmark
is looked at, and the prior of unanswerable questions does not matter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from knowledge_base.models import ArticleStatus, Audience, ChunkKind
from knowledge_base.search.classifier import MAX_ARTICLES, MIN_ARTICLES, ArticleClassifier
from knowledge_base.search.embedder import Vectors
from knowledge_base.search.engine import SearchFilters, SearchHit, SearchIndex, vector_matrix
from knowledge_base.search.lexical import BM25Index
from knowledge_base.search.logistic import fitted_logistic, tfidf_vectorizer
from knowledge_base.search.store import ChunkRow
from knowledge_base.search.vector_index import FaissIndex

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

Floats = npt.NDArray[np.float64]
HITS = 5  # hits the decision looks at
FLOOR_LOG_PROBABILITY = -30.0  # a classifier log-probability below this says nothing more
FEATURES = ("scorer_probability", "scorer_best", "text_probability", "text_best",
            "classifier", "classifier_margin", "dense", "lexical", "score", "score_margin",
            "scorer_margin", "scorer_entropy", "text_margin", "scorer_agrees", "text_agrees",
            "lexical_agrees", "nearest_share", "nearest_agrees", "nearest_three", "centroid")
NEAREST = 10  # example questions around the query whose articles are counted
NEAREST_OF_BEST = 3  # the best article's closest example questions, averaged
BLOCK = 256  # queries compared with every example question at once
MIN_QUESTION_ARTICLES = 4  # fewer articles with example questions: nothing to calibrate on
MIN_QUERIES = 20  # of each kind, over all folds
SCORER_REGULARISATION = 1.0
SCORER_MAX_ITERATIONS = 300
TEXT_REGULARISATION = 3.0
TEXT_NGRAMS = (2, 5)  # characters, within words: robust to typos and inflections
META_REGULARISATION = 1.0


@dataclass(frozen=True)
class CalibrationSettings:
    handover_weight: float = 0.2
    folds: int = 4
    held_out_share: float = 0.2  # of each in-scope article's example questions
    # Of each kind (in scope, out of scope) per fold: searched in batches, so every held-out
    # question of a knowledge base of a few thousand questions counts (a sample of a few
    # hundred moved the line by several points from one knowledge base to a similar one).
    max_queries: int = 2000
    seed: int = 0


class ArticleScorer:
    """P(article | query vector): a logistic regression over the example questions,
    regularised more strongly than the ranking classifier. Its probability for the best
    hit is the sharpest single sign of a right answer; the ranking one is tuned to rank."""

    def __init__(self, model: LogisticRegression) -> None:
        self._model = model
        self.article_ids = [int(i) for i in model.classes_]

    @classmethod
    def train(cls, questions: Mapping[int, Vectors]) -> ArticleScorer | None:
        """None when there are too few or too many articles with questions (as the
        ranking classifier, so both exist for the same knowledge bases)."""
        articles = [a for a, vectors in questions.items() if len(vectors)]
        if not MIN_ARTICLES <= len(articles) <= MAX_ARTICLES:
            return None
        features = np.vstack([questions[a] for a in articles])
        labels = np.concatenate([np.full(len(questions[a]), a) for a in articles])
        return cls(fitted_logistic(features, labels, regularisation=SCORER_REGULARISATION,
                                   max_iterations=SCORER_MAX_ITERATIONS))

    def probabilities(self, vectors: Vectors) -> list[dict[int, float]]:
        """Each row's probability of each article, in one model call."""
        return [dict(zip(self.article_ids, row, strict=True))
                for row in self._model.predict_proba(vectors).tolist()]


class TextScorer:
    """P(article | query text) from character n-grams (TF-IDF, logistic regression): it
    errs on other questions than the embedding, so where both agree the answer is surer."""

    def __init__(self, vectorizer: TfidfVectorizer, model: LogisticRegression) -> None:
        self._vectorizer = vectorizer
        self._model = model
        self.article_ids = [int(i) for i in model.classes_]

    @classmethod
    def train(cls, questions: Mapping[int, Sequence[str]]) -> TextScorer | None:
        articles = [a for a, texts in questions.items() if texts]
        if not MIN_ARTICLES <= len(articles) <= MAX_ARTICLES:
            return None
        vectorizer = tfidf_vectorizer(analyzer="char_wb", ngram_range=TEXT_NGRAMS,
                                     sublinear_tf=True, strip_accents="unicode")
        matrix = vectorizer.fit_transform([t for a in articles for t in questions[a]])
        labels = [a for a in articles for _ in questions[a]]
        return cls(vectorizer, fitted_logistic(matrix, labels,
                                               regularisation=TEXT_REGULARISATION,
                                               max_iterations=SCORER_MAX_ITERATIONS))

    def probabilities(self, texts: Sequence[str]) -> list[dict[int, float]]:
        """Each text's probability of each article, in one model call."""
        scores = self._model.predict_proba(self._vectorizer.transform(list(texts)))
        return [dict(zip(self.article_ids, row, strict=True)) for row in scores.tolist()]


class Neighbourhood:
    """Where the query sits among the example questions: whether those nearest to it are
    the best hit's, and how close the best hit's own questions and centre are. A question
    on a topic the knowledge base lacks lands between articles rather than inside one."""

    def __init__(self, vectors: Vectors, articles: npt.NDArray[np.int64]) -> None:
        self._columns = np.ascontiguousarray(vectors.T)  # one column a question: fast products
        self._articles = articles
        self._members = {int(a): np.flatnonzero(articles == a) for a in np.unique(articles)}
        self._centres = {a: _unit(vectors[members].mean(axis=0))
                         for a, members in self._members.items()}

    @classmethod
    def train(cls, questions: Mapping[int, Vectors]) -> Neighbourhood | None:
        """None when there are too few or too many articles (as the scorers)."""
        articles = [a for a, vectors in questions.items() if len(vectors)]
        if not MIN_ARTICLES <= len(articles) <= MAX_ARTICLES:
            return None
        return cls(np.vstack([questions[a] for a in articles]).astype(np.float32),
                   np.concatenate([np.full(len(questions[a]), a) for a in articles]))

    def features(self, vectors: Vectors, best: Sequence[int]) -> Floats:
        """Per row: the share of the ``NEAREST`` example questions that are ``best``'s,
        whether the nearest one is, the mean cosine of ``best``'s ``NEAREST_OF_BEST``
        closest questions, and the cosine of its centre (zeros for an unknown article)."""
        if not len(best):
            return np.zeros((0, 4))
        return np.vstack([self._block(vectors[start:start + BLOCK], best[start:start + BLOCK])
                          for start in range(0, len(best), BLOCK)])

    def _block(self, vectors: Vectors, best: Sequence[int]) -> Floats:
        """``features`` of a few rows (their similarities to every question in memory)."""
        similarities = vectors.astype(np.float32, copy=False) @ self._columns
        count = min(NEAREST, similarities.shape[1])
        nearest = np.argpartition(-similarities, count - 1, axis=1)[:, :count]
        rows = np.zeros((len(best), 4))
        for n, article in enumerate(best):
            members = self._members.get(article)
            if members is not None:
                near = nearest[n][np.argsort(-similarities[n, nearest[n]])]
                own = np.sort(similarities[n, members])[-NEAREST_OF_BEST:]
                rows[n] = (np.mean(self._articles[near] == article),
                           float(self._articles[near[0]] == article), own.mean(),
                           self._centres[article] @ vectors[n])
        return rows


@dataclass(frozen=True)
class Scorers:
    """What the confidence reads besides the hits, trained on one set of example questions
    (each may be None when there are too few or too many articles): the two article
    scorers and the example questions' neighbourhood."""

    vector: ArticleScorer | None
    text: TextScorer | None
    neighbourhood: Neighbourhood | None = None

    @classmethod
    def train(cls, rows: Sequence[ChunkRow]) -> Scorers:
        """The scorers and the neighbourhood of the example questions among ``rows``."""
        vectors: dict[int, list[Vectors]] = {}
        texts: dict[int, list[str]] = {}
        for row in rows:
            if row.kind is ChunkKind.QUESTION:
                vectors.setdefault(row.article_id, []).append(_vector(row))
                texts.setdefault(row.article_id, []).append(row.text)
        stacked = {a: np.vstack(v) for a, v in vectors.items()}
        return cls(ArticleScorer.train(stacked), TextScorer.train(texts),
                   Neighbourhood.train(stacked))

    def features(self, hits: Sequence[SearchHit], text: str, vector: Vectors) -> Floats:
        """``hit_features`` with these scorers' probabilities."""
        return self.features_many([hits], [text], vector.reshape(1, -1))[0]

    def features_many(self, hits: Sequence[Sequence[SearchHit]], texts: Sequence[str],
                      vectors: Vectors) -> Floats:
        """``features`` of several searches (a row each), one call per scorer."""
        empty: list[dict[int, float]] = [{} for _ in texts]
        own = self.vector.probabilities(vectors) if self.vector is not None else empty
        lexical = self.text.probabilities(texts) if self.text is not None else empty
        best = [found[0].article_id if found else -1 for found in hits]
        near = (self.neighbourhood.features(vectors, best) if self.neighbourhood is not None
                else np.zeros((len(texts), 4)))
        return np.vstack([hit_features(*row)
                          for row in zip(hits, own, lexical, near, strict=True)])


def hit_features(hits: Sequence[SearchHit], own: Mapping[int, float],
                 text: Mapping[int, float], near: Floats | None = None) -> Floats:
    """The signals of ``FEATURES`` for the best hit (zeros for a missing signal); ``near``:
    ``Neighbourhood.features`` of the query."""
    if not hits:
        return np.zeros(len(FEATURES))
    best, others = hits[0], hits[1:]
    classifier = [_log_probability(h) for h in hits]
    runner_up = max(classifier[1:], default=FLOOR_LOG_PROBABILITY)
    most_lexical = max(hits, key=lambda h: h.lexical or 0.0).article_id
    return np.array([
        own.get(best.article_id, 0.0), max(own.values(), default=0.0),
        text.get(best.article_id, 0.0), max(text.values(), default=0.0),
        classifier[0], classifier[0] - runner_up,
        best.dense or 0.0, best.lexical or 0.0,
        best.score, best.score - (others[0].score if others else 0.0),
        _margin(own), _entropy(own), _margin(text),
        _agrees(own, best.article_id), _agrees(text, best.article_id),
        float(most_lexical == best.article_id),
        *(near if near is not None else np.zeros(4))])


def _margin(probabilities: Mapping[int, float]) -> float:
    """The top probability's lead over the second."""
    top = sorted(probabilities.values(), reverse=True)[:2]
    return top[0] - top[1] if len(top) == 2 else sum(top)


def _entropy(probabilities: Mapping[int, float]) -> float:
    values = np.fromiter(probabilities.values(), dtype=np.float64, count=len(probabilities))
    return float(-(values * np.log(values + 1e-12)).sum())


def _agrees(probabilities: Mapping[int, float], article_id: int) -> float:
    """1.0 when ``article_id`` is the scorer's most probable article."""
    return float(bool(probabilities) and max(probabilities, key=probabilities.__getitem__)
                 == article_id)


def _log_probability(hit: SearchHit) -> float:
    if hit.classifier is None:
        return FLOOR_LOG_PROBABILITY
    return max(hit.classifier, FLOOR_LOG_PROBABILITY)


@dataclass(frozen=True)
class ConfidenceModel:
    """P(the best hit is the right article), with the line calibrated for answering."""

    scorers: Scorers
    mean: Floats
    scale: Floats
    weights: Floats
    bias: float
    threshold: float
    queries: int  # held-out searches it was fitted on

    def confidence(self, hits: Sequence[SearchHit], text: str, vector: Vectors) -> float:
        """How likely the best of ``hits`` answers the query (0 to 1)."""
        return self.confidences([hits], [text], vector.reshape(1, -1))[0]

    def confidences(self, hits: Sequence[Sequence[SearchHit]], texts: Sequence[str],
                    vectors: Vectors) -> list[float]:
        """``confidence`` of several searches (each its hits, text and row of
        ``vectors``), the scorers called once for them all."""
        asked = [n for n, found in enumerate(hits) if found]
        result = [0.0] * len(hits)
        if asked:
            features = self.scorers.features_many([hits[n] for n in asked],
                                                   [texts[n] for n in asked], vectors[asked])
            for n, probability in zip(asked, self.probabilities(features).tolist(),
                                      strict=True):
                result[n] = probability
        return result

    def probabilities(self, features: Floats) -> Floats:
        """The model applied to rows of ``FEATURES``."""
        z = ((features - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class Query:
    text: str
    vector: Vectors
    language: str
    expected: int | None  # None: out of scope for this fold


@dataclass
class Samples:
    """Held-out searches: their features, whether the best hit was right, whether the
    query had an answer in the fold index."""

    features: list[Floats]
    correct: list[bool]
    in_scope: list[bool]

    def add(self, features: Floats, correct: bool, in_scope: bool) -> None:
        self.features.append(features)
        self.correct.append(correct)
        self.in_scope.append(in_scope)


def answerable_rows(rows: Sequence[ChunkRow]) -> list[ChunkRow]:
    """The chunks the assistant may answer from: published, public, with a vector."""
    return [r for r in rows if r.status is ArticleStatus.PUBLISHED
            and r.audience is Audience.PUBLIC and r.vector is not None]


def calibrate(rows: Sequence[ChunkRow],
              settings: CalibrationSettings | None = None) -> ConfidenceModel | None:
    """The confidence model of the knowledge base made of ``rows`` (chunks with vectors),
    or None when it has too few example questions to learn from."""
    settings = settings or CalibrationSettings()
    rows = answerable_rows(rows)
    samples = held_out_samples(rows, settings)
    if samples is None:
        return None
    return fit(samples, Scorers.train(rows), settings.handover_weight)


def held_out_samples(rows: Sequence[ChunkRow], settings: CalibrationSettings,
                     ) -> Samples | None:
    """Search every fold's held-out queries through a fold index; None when too few."""
    rng = np.random.default_rng(settings.seed)
    asked = _question_articles(rows)
    if len(asked) < MIN_QUESTION_ARTICLES:
        return None
    samples = Samples([], [], [])
    folds = np.array_split(rng.permutation(asked), min(settings.folds, len(asked)))
    for fold in folds:
        _search_fold(rows, {int(a) for a in fold}, rng, settings, samples)
    in_scope = np.asarray(samples.in_scope)
    if in_scope.sum() < MIN_QUERIES or (~in_scope).sum() < MIN_QUERIES:
        return None
    return samples


def _question_articles(rows: Sequence[ChunkRow]) -> list[int]:
    """Articles with at least two example questions: one can be held out."""
    counts: dict[int, int] = {}
    for row in rows:
        if row.kind is ChunkKind.QUESTION:
            counts[row.article_id] = counts.get(row.article_id, 0) + 1
    return sorted(a for a, n in counts.items() if n >= 2)


def _search_fold(rows: Sequence[ChunkRow], outside: set[int], rng: np.random.Generator,
                 settings: CalibrationSettings, samples: Samples) -> None:
    """Index all but ``outside``'s articles and the held-out questions; search those."""
    held_out = _held_out_questions(rows, outside, rng, settings.held_out_share)
    kept = [r for r in rows if r.article_id not in outside and r.id not in held_out]
    index = fold_index(kept)
    scorers = Scorers.train(kept)
    in_scope = [r for r in rows if r.id in held_out]
    out_of_scope = [r for r in rows if r.article_id in outside and r.kind is ChunkKind.QUESTION]
    queries = [Query(row.text, _vector(row), row.language,
                     None if row.article_id in outside else row.article_id)
               for row in [*_sample(in_scope, settings.max_queries, rng),
                           *_sample(out_of_scope, settings.max_queries, rng)]]
    features, correct = search_features(index, scorers, queries)
    for row, right, query in zip(features, correct, queries, strict=True):
        samples.add(row, right, query.expected is not None)


def _held_out_questions(rows: Sequence[ChunkRow], outside: set[int],
                        rng: np.random.Generator, share: float) -> set[int]:
    """A share (at least one) of each in-scope article's questions, when it has two."""
    by_article: dict[int, list[int]] = {}
    for row in rows:
        if row.kind is ChunkKind.QUESTION and row.article_id not in outside:
            by_article.setdefault(row.article_id, []).append(row.id)
    held: set[int] = set()
    for ids in by_article.values():
        if len(ids) >= 2:
            count = min(len(ids) - 1, max(1, round(share * len(ids))))
            held.update(int(i) for i in rng.choice(ids, count, replace=False))
    return held


def _sample(rows: list[ChunkRow], most: int, rng: np.random.Generator) -> list[ChunkRow]:
    if len(rows) <= most:
        return rows
    return [rows[i] for i in sorted(rng.choice(len(rows), most, replace=False))]


def fold_index(rows: Sequence[ChunkRow]) -> SearchIndex:
    """An in-memory index of ``rows`` built as the live one: faiss, BM25, classifier."""
    index = SearchIndex(FaissIndex(), BM25Index())
    index.add_rows(rows, vector_matrix(rows))
    index.classifier = ArticleClassifier.train(index.questions)
    return index


def search_features(index: SearchIndex, scorers: Scorers, queries: Sequence[Query],
                    ) -> tuple[Floats, list[bool]]:
    """The queries searched as the assistant searches, in one batch: their features (a row
    each), and whether each one's best hit is its expected article."""
    if not queries:
        return np.zeros((0, len(FEATURES))), []
    vectors = np.vstack([query.vector for query in queries])
    hits = index.search_many([(query.text, SearchFilters(
        language=query.language, audiences=tuple(Audience))) for query in queries],
        vectors, HITS)
    correct = [bool(found) and found[0].article_id == query.expected
               for found, query in zip(hits, queries, strict=True)]
    return scorers.features_many(hits, [query.text for query in queries], vectors), correct


def fit(samples: Samples, scorers: Scorers, handover_weight: float) -> ConfidenceModel:
    """The logistic model over the samples and its answer line (see module docstring)."""
    features = np.vstack(samples.features)
    correct = np.asarray(samples.correct)
    in_scope = np.asarray(samples.in_scope)
    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale[scale == 0] = 1.0
    model = fitted_logistic((features - mean) / scale, correct & in_scope,
                            regularisation=META_REGULARISATION, max_iterations=1000,
                            sample_weight=_balanced_weights(in_scope))
    confidence = model.predict_proba((features - mean) / scale)[:, 1]
    return ConfidenceModel(scorers, mean, scale, model.coef_[0].astype(np.float64),
                           float(model.intercept_[0]),
                           best_threshold(confidence, correct, in_scope, handover_weight),
                           len(correct))


def _balanced_weights(in_scope: npt.NDArray[np.bool_]) -> Floats:
    """In-scope and out-of-scope queries weigh the same in total, whatever their counts."""
    weights = np.where(in_scope, 1.0 / max(in_scope.sum(), 1),
                       1.0 / max((~in_scope).sum(), 1))
    return weights * len(in_scope) / weights.sum()


def best_threshold(confidence: Floats, correct: npt.NDArray[np.bool_],
                   in_scope: npt.NDArray[np.bool_], handover_weight: float) -> float:
    """The confidence line maximising right-answer rate + weight * hand-over rate."""
    candidates = np.unique(np.concatenate([[0.0], confidence]))
    right = correct & in_scope
    best, best_value = 0.0, -math.inf
    for line in candidates:
        answered = confidence >= line
        value = (right & answered).sum() / max(in_scope.sum(), 1) + handover_weight * (
            (~in_scope & ~answered).sum() / max((~in_scope).sum(), 1))
        if value > best_value:
            best, best_value = float(line), value
    return best


def _unit(vector: Vectors) -> Vectors:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def _vector(row: ChunkRow) -> Vectors:
    assert row.vector is not None
    return np.frombuffer(row.vector, dtype=np.float32)
