"""Calibration on synthetic knowledge bases: word clusters embedded by the fake model."""

import numpy as np
import pytest

from bot import calibration
from bot.calibration import (
    FEATURES,
    CalibrationSettings,
    Neighbourhood,
    Query,
    Samples,
    Scorers,
    best_threshold,
    calibrate,
    fold_index,
    hit_features,
    search_features,
)
from knowledge_base.models import ArticleStatus, Audience, ChunkKind
from knowledge_base.search.engine import SearchHit
from knowledge_base.search.store import ChunkRow
from tests.fakes import FakeEmbedder


class WideFakeEmbedder(FakeEmbedder):
    """The fake with room enough that the synthetic words rarely share a dimension."""

    dimension = 1024


EMBEDDER = WideFakeEmbedder()
SHARED = ["please", "help", "need", "question", "quick", "again"]


def topic_words(topic: int) -> list[str]:
    return [f"t{topic}w{n}" for n in range(8)]


def question(topic: int, rng: np.random.Generator) -> str:
    """Three of the topic's words and one word every topic uses."""
    words = [*rng.choice(topic_words(topic), 3, replace=False), str(rng.choice(SHARED))]
    return " ".join(words)


def knowledge_base(topics: int, questions: int, seed: int = 0,
                   status: ArticleStatus = ArticleStatus.PUBLISHED) -> list[ChunkRow]:
    """One article per topic: a body chunk naming the topic, then example questions."""
    rng = np.random.default_rng(seed)
    rows: list[ChunkRow] = []
    for topic in range(topics):
        texts = [" ".join(topic_words(topic)[:4])]
        texts += [question(topic, rng) for _ in range(questions)]
        kinds = [ChunkKind.CHUNK] + [ChunkKind.QUESTION] * questions
        for text, kind, vector in zip(texts, kinds, EMBEDDER.encode(texts), strict=True):
            rows.append(ChunkRow(len(rows) + 1, topic + 1, 1, kind, text, "en",
                                 Audience.PUBLIC, status, "synthetic", vector.tobytes(),
                                 title=f"Topic {topic}"))
    return rows


@pytest.fixture(scope="module")
def model():
    rows = knowledge_base(topics=12, questions=10)
    confidence = calibrate(rows, CalibrationSettings(max_queries=60))
    assert confidence is not None
    return confidence, rows


def confidence_of(model_and_rows, text: str) -> float:
    from bot.calibration import fold_index

    confidence, rows = model_and_rows
    index = fold_index(rows)
    vector = EMBEDDER.encode([text])[0]
    hits = index.search(text, vector, calibration.SearchFilters(language="en"),
                        calibration.HITS)
    return confidence.confidence(hits, text, vector)


def test_a_question_on_a_known_topic_is_answered_one_on_an_unknown_topic_is_not(model):
    rng = np.random.default_rng(99)
    known = [confidence_of(model, question(3, rng)) for _ in range(5)]
    unknown = [confidence_of(model, f"{question(40, rng)} t3w1") for _ in range(5)]
    confidence, _ = model
    assert min(known) >= confidence.threshold > max(unknown)


def test_the_model_records_what_it_was_fitted_on(model):
    confidence, _ = model
    assert 0.0 < confidence.threshold < 1.0
    assert confidence.queries > 0
    assert confidence.weights.shape == (len(FEATURES),)
    assert confidence.scorers.vector is not None and confidence.scorers.text is not None


def test_too_few_articles_with_questions_leave_nothing_to_calibrate_on():
    assert calibrate(knowledge_base(topics=3, questions=10)) is None
    assert calibrate(knowledge_base(topics=12, questions=1)) is None  # none can be held out


def test_only_published_public_articles_count():
    drafts = knowledge_base(topics=12, questions=10, status=ArticleStatus.DRAFT)
    assert calibrate(drafts) is None


def test_held_out_questions_leave_each_article_at_least_one():
    rows = knowledge_base(topics=4, questions=2)
    held = calibration._held_out_questions(rows, outside={1}, rng=np.random.default_rng(0),
                                           share=0.9)
    kept = [r for r in rows if r.kind is ChunkKind.QUESTION and r.id not in held
            and r.article_id != 1]
    assert {r.article_id for r in kept} == {2, 3, 4}
    assert not any(r.article_id == 1 for r in rows if r.id in held)


def test_the_line_maximises_right_answers_plus_weighted_handovers():
    confidence = np.array([0.9, 0.8, 0.6, 0.5, 0.4, 0.2])
    correct = np.array([True, True, False, True, False, False])
    in_scope = np.array([True, True, True, True, False, False])
    # Answering from 0.5 keeps 3 of 4 in scope right and hands over both out of scope.
    assert best_threshold(confidence, correct, in_scope, handover_weight=1.0) == 0.5
    # When hand-overs are worth nothing, answering everything is best.
    assert best_threshold(confidence, correct, in_scope, handover_weight=0.0) == 0.0


def test_a_higher_handover_weight_never_lowers_the_line():
    rng = np.random.default_rng(3)
    confidence = rng.random(200)
    in_scope = rng.random(200) < 0.6
    correct = in_scope & (rng.random(200) < confidence + 0.2)
    lines = [best_threshold(confidence, correct, in_scope, w) for w in (0.1, 0.5, 1.0, 3.0)]
    assert lines == sorted(lines)


def test_hit_features_fill_missing_signals():
    assert hit_features([], {}, {}).tolist() == [0.0] * len(FEATURES)
    best = SearchHit(7, 1, 70, score=2.0, dense=None, lexical=None, classifier=None)
    runner_up = SearchHit(8, 1, 80, score=1.5, dense=0.4, lexical=2.0, classifier=-0.2)
    features = dict(zip(FEATURES, hit_features([best, runner_up], {7: 0.6, 8: 0.3},
                                               {8: 0.9}), strict=True))
    assert features["scorer_probability"] == 0.6 and features["scorer_best"] == 0.6
    assert features["text_probability"] == 0.0 and features["text_best"] == 0.9
    assert features["dense"] == 0.0 and features["lexical"] == 0.0
    assert features["classifier"] == calibration.FLOOR_LOG_PROBABILITY
    assert features["score_margin"] == 0.5


def test_hit_features_read_how_far_the_scorers_agree_with_the_best_hit():
    best = SearchHit(7, 1, 70, score=2.0, dense=0.8, lexical=1.0, classifier=-0.1)
    runner_up = SearchHit(8, 1, 80, score=1.5, dense=0.4, lexical=3.0, classifier=-2.0)
    near = np.array([0.7, 1.0, 0.8, 0.6])
    features = dict(zip(FEATURES, hit_features([best, runner_up], {7: 0.7, 8: 0.2, 9: 0.1},
                                               {7: 0.4, 8: 0.6}, near), strict=True))
    assert features["scorer_margin"] == pytest.approx(0.5)
    assert features["scorer_entropy"] == pytest.approx(
        -sum(p * np.log(p) for p in (0.7, 0.2, 0.1)), abs=1e-9)
    assert features["text_margin"] == pytest.approx(0.2)
    assert features["scorer_agrees"] == 1.0 and features["text_agrees"] == 0.0
    assert features["lexical_agrees"] == 0.0  # the runner-up matches more words
    assert [features[name] for name in ("nearest_share", "nearest_agrees", "nearest_three",
                                        "centroid")] == near.tolist()


def test_the_neighbourhood_tells_a_query_inside_an_article_from_one_between_articles():
    rows = knowledge_base(topics=6, questions=10)
    neighbourhood = Scorers.train(rows).neighbourhood
    assert neighbourhood is not None
    inside = EMBEDDER.encode(["t2w0 t2w1 t2w5 t2w3"])  # topic 2 is article 3
    between = EMBEDDER.encode(["t2w0 t4w1 t5w2 help"])
    [share, nearest, three, centre] = neighbourhood.features(inside, [3])[0]
    assert share == 1.0 and nearest == 1.0
    [share_between, nearest_between, three_between, centre_between] = (
        neighbourhood.features(between, [3])[0])
    assert share_between < share and nearest_between == 0.0
    assert three_between < three and centre_between < centre
    assert neighbourhood.features(inside, [99]).tolist() == [[0.0] * 4]  # unknown article


def test_the_neighbourhood_compares_queries_in_blocks(monkeypatch):
    rows = knowledge_base(topics=5, questions=6)
    neighbourhood = Scorers.train(rows).neighbourhood
    assert isinstance(neighbourhood, Neighbourhood)
    rng = np.random.default_rng(2)
    vectors = EMBEDDER.encode([question(n % 5, rng) for n in range(7)])
    best = [n % 5 + 1 for n in range(7)]
    whole = neighbourhood.features(vectors, best)
    monkeypatch.setattr(calibration, "BLOCK", 3)
    assert neighbourhood.features(vectors, best) == pytest.approx(whole)


def test_held_out_queries_are_searched_in_one_batch_as_one_by_one():
    rows = knowledge_base(topics=8, questions=6)
    index, scorers = fold_index(rows), Scorers.train(rows)
    rng = np.random.default_rng(4)
    texts = [question(1, rng), question(6, rng), f"{question(40, rng)} t3w1"]
    queries = [Query(text, vector, "en", expected)
               for text, vector, expected in zip(texts, EMBEDDER.encode(texts), [2, 7, None],
                                                 strict=True)]
    features, correct = search_features(index, scorers, queries)
    alone = [search_features(index, scorers, [query]) for query in queries]
    assert features == pytest.approx(np.vstack([f for f, _ in alone]))
    assert correct == [c[0] for _, c in alone] and correct[:2] == [True, True]
    assert not correct[2]


def test_scorers_need_two_articles_with_questions():
    rows = knowledge_base(topics=1, questions=5)
    assert Scorers.train(rows) == Scorers(None, None)


def test_fit_weighs_both_kinds_of_query_equally():
    samples = Samples([], [], [])
    rng = np.random.default_rng(0)
    for n in range(90):
        in_scope = n < 80  # eight times more in scope
        value = rng.normal(1.0 if in_scope else -1.0, 0.5)
        samples.add(np.full(len(FEATURES), value), in_scope, in_scope)
    model = calibration.fit(samples, Scorers(None, None), handover_weight=1.0)
    middle = model.probabilities(np.zeros((1, len(FEATURES))))[0]
    assert 0.3 < middle < 0.7  # no prior pulls the undecided point towards "in scope"


def test_confidences_of_many_searches_at_once_are_each_search_confidence(model):
    from bot.calibration import fold_index

    confidence, rows = model
    index = fold_index(rows)
    rng = np.random.default_rng(7)
    texts = [question(3, rng), f"{question(40, rng)} t3w1", question(5, rng)]
    vectors = EMBEDDER.encode(texts)
    hits = [index.search(text, vector, calibration.SearchFilters(language="en"),
                         calibration.HITS) for text, vector in zip(texts, vectors, strict=True)]
    hits[1] = []
    batched = confidence.confidences(hits, texts, vectors)
    alone = [confidence.confidence(found, text, vector)
             for found, text, vector in zip(hits, texts, vectors, strict=True)]
    assert batched == pytest.approx(alone, abs=1e-12)
    assert batched[1] == 0.0 and batched[0] > 0.0
