"""Fusing the dense, lexical and classifier scores into one article ranking."""

import statistics

import pytest

from knowledge_base.search.ranking import LEXICAL_WEIGHT, PER_SIGNAL, Signals, rank


def order(signals: Signals) -> list[int]:
    return [r.article_id for r in rank(signals)]


def test_an_article_strong_on_every_signal_ranks_first():
    # Articles 2, 3 and 4 each win one signal by a hair; article 1 is close behind on all.
    signals = Signals(dense={1: 0.80, 2: 0.82, 3: 0.40, 4: 0.40},
                      lexical={1: 6.0, 2: 0.5, 3: 6.5, 4: 0.5},
                      classifier={1: -0.5, 2: -4.0, 3: -4.0, 4: -0.4})
    assert order(signals)[0] == 1


def test_lexical_weight_decides_a_near_tie_in_dense():
    signals = Signals(dense={1: 0.810, 2: 0.805, 3: 0.30}, lexical={1: 0.5, 2: 4.0})
    assert order(signals) == [2, 1, 3]


def test_lexical_does_not_overturn_a_clear_dense_lead():
    signals = Signals(dense={1: 0.90, 2: 0.50, 3: 0.45}, lexical={1: 0.5, 2: 4.0})
    assert order(signals) == [1, 2, 3]


def test_a_missing_dense_score_is_filled_with_the_worst_dense_hit():
    # 3 has no dense score: it must fuse exactly like 2, the worst dense hit, not like a zero.
    ranked = {r.article_id: r for r in rank(Signals(dense={1: 0.9, 2: 0.5},
                                                    lexical={2: 1.0, 3: 1.0}))}
    assert ranked[3].score == pytest.approx(ranked[2].score)
    assert (ranked[3].dense, ranked[3].lexical) == (None, 1.0)


def test_ranked_entries_report_each_signal_as_given():
    [first, second] = rank(Signals(dense={7: 0.9, 8: 0.2}, lexical={7: 3.0},
                                   classifier={7: -0.1, 8: -2.0}))
    assert (first.article_id, first.dense, first.lexical, first.classifier) == (7, 0.9, 3.0, -0.1)
    assert (second.article_id, second.lexical, second.classifier) == (8, None, -2.0)


def test_without_a_classifier_ranking_uses_dense_and_lexical():
    ranked = rank(Signals(dense={1: 0.4, 2: 0.7}, lexical={1: 1.0, 2: 1.0}, classifier=None))
    assert [r.article_id for r in ranked] == [2, 1]
    assert all(r.classifier is None for r in ranked)


def test_the_classifier_can_reorder_a_dense_tie():
    signals = Signals(dense={1: 0.6, 2: 0.6}, lexical={}, classifier={1: -3.0, 2: -0.1})
    assert order(signals) == [2, 1]


def test_no_candidates_rank_nothing():
    assert rank(Signals(dense={}, lexical={}, classifier={})) == []


def test_each_signal_contributes_at_most_per_signal_candidates():
    dense = {a: a / 100 for a in range(1, PER_SIGNAL + 11)}
    lexical = {a: float(a) for a in range(101, PER_SIGNAL + 111)}
    ranked = order(Signals(dense=dense, lexical=lexical))
    assert set(ranked) == set(range(11, PER_SIGNAL + 11)) | set(range(111, PER_SIGNAL + 111))


def test_the_fused_score_sums_the_weighted_z_scores_of_each_signal():
    dense, lexical, classifier = {1: 0.9, 2: 0.5, 3: 0.7}, {1: 2.0, 3: 6.0}, {1: -0.2, 2: -3.0}
    ranked = {r.article_id: r.score for r in rank(Signals(dense, lexical, classifier))}
    columns = [[0.9, 0.5, 0.7], [2.0, 0.0, 6.0], [-0.2, -3.0, -3.0]]  # misses filled

    def z(values: list[float], n: int) -> float:
        return (values[n] - statistics.fmean(values)) / statistics.pstdev(values)

    expected = {a: z(columns[0], n) + LEXICAL_WEIGHT * z(columns[1], n) + z(columns[2], n)
                for n, a in enumerate([1, 2, 3])}
    assert ranked == pytest.approx(expected, rel=1e-12)


def test_a_signal_equal_on_every_candidate_adds_nothing():
    ranked = rank(Signals(dense={1: 0.3, 2: 0.3, 3: 0.3}, lexical={1: 1.0, 2: 2.0, 3: 3.0}))
    assert [r.article_id for r in ranked] == [3, 2, 1]
    assert [r.score for r in ranked] == pytest.approx(
        [LEXICAL_WEIGHT * z for z in (1.224744871391589, 0.0, -1.224744871391589)])
