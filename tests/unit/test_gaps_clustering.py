"""Content-gap clustering on hand-made and fake vectors, and the personal data taken out of
drafts: no database, no model."""

import numpy as np
import pytest

from knowledge_base.gaps.clustering import adopt, assign, centrality, representatives
from knowledge_base.gaps.scrub import scrubber
from tests.fakes import FakeEmbedder

EMBEDDER = FakeEmbedder()


def unit(*rows: list[float]) -> np.ndarray:
    matrix = np.array(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def groups(labels: list[int]) -> list[list[int]]:
    found: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        found.setdefault(label, []).append(index)
    return list(found.values())


def cluster(vectors: np.ndarray, threshold: float):
    """``assign`` from no cluster at all."""
    return assign(vectors, np.zeros((0, vectors.shape[1]), np.float32),
                  np.zeros(0, np.int64), threshold)


def test_close_rows_share_a_cluster_and_far_ones_start_their_own():
    vectors = unit([1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0.95, 0, 0.05], [0, 0.9, 0.2],
                   [0, 0, 1])
    result = cluster(vectors, threshold=0.8)
    assert groups(result.labels) == [[0, 1, 3], [2, 4], [5]]
    assert result.sizes.tolist() == [3, 2, 1]
    assert np.allclose(result.sums[0], vectors[[0, 1, 3]].sum(axis=0))


def test_a_row_joins_the_cluster_it_is_closest_to_on_average():
    # A's members are both at cosine 0.9 from (1, 0); B holds its nearest neighbour (0.95)
    # but also a member at 0.3: on average B is farther.
    sums = np.array([[1.8, 0.0], [1.25, 1.266]], dtype=np.float32)
    assert assign(unit([1, 0]), sums, np.array([2, 2]), threshold=0.5).labels == [0]


def test_a_spread_cluster_does_not_swallow_a_question_at_its_centre():
    # (1, 0) and (0, 1): their centroid is exactly the question, their mean cosine 0.71.
    result = assign(unit([1, 1]), np.array([[1.0, 1.0]], np.float32), np.array([2]),
                    threshold=0.8)
    assert result.labels == [1] and result.sizes.tolist() == [2, 1]


def test_new_questions_extend_the_clusters_without_moving_the_old_ones():
    vectors = unit([1, 0.1, 0], [0, 1, 0.1], [0.9, 0, 0.1], [0.1, 0, 1])
    first = cluster(vectors[:2], threshold=0.7)
    later = assign(vectors[2:], first.sums, first.sizes, threshold=0.7)
    at_once = cluster(vectors, threshold=0.7)
    assert first.labels + later.labels == at_once.labels == [0, 1, 0, 2]
    assert np.allclose(later.sums, at_once.sums)
    assert later.sizes.tolist() == at_once.sizes.tolist() == [2, 1, 1]


def test_chunks_give_exactly_the_one_by_one_result(monkeypatch):
    rng = np.random.default_rng(7)
    topics = rng.normal(size=(12, 16))
    rows = topics[rng.integers(0, 12, size=300)] + rng.normal(scale=0.45, size=(300, 16))
    vectors = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    whole = cluster(vectors, threshold=0.6)
    monkeypatch.setattr("knowledge_base.gaps.clustering.CHUNK", 1)
    one_by_one = cluster(vectors, threshold=0.6)
    assert whole.labels == one_by_one.labels
    assert 8 <= len(set(whole.labels)) <= 40


def test_the_same_questions_in_the_same_order_give_the_same_clusters():
    texts = ["where is my parcel", "my parcel is late", "gift cards for sale",
             "do you sell gift cards", "parcel not delivered", "cancel my subscription"]
    vectors = EMBEDDER.encode(texts)
    runs = [cluster(vectors, threshold=0.3).labels for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    assert groups(runs[0]) == [[0, 1, 4], [2, 3], [5]]


def test_centrality_ranks_the_members_by_closeness_to_their_common_meaning():
    vectors = unit([1, 0], [0.8, 0.6], [0.6, 0.8])
    scores = centrality(vectors, vectors.sum(axis=0))
    assert int(np.argmax(scores)) == 1
    assert scores == pytest.approx([0.864, 0.994, 0.921], abs=0.001)


def test_representatives_skip_near_duplicates():
    vectors = unit([1, 0.2], [1, 0.21], [0.7, 0.7], [0, 1])
    assert representatives(vectors, 2, duplicate=0.99) == [2, 1]
    assert representatives(vectors, 5, duplicate=0.99) == [2, 1, 3]
    assert representatives(np.zeros((0, 2), np.float32), 3, duplicate=0.9) == []


def test_after_a_reclustering_each_former_cluster_goes_to_the_group_holding_most_of_it():
    former = {1: 10, 2: 10, 3: 10, 4: 20, 5: 20, 6: 30}
    # Group 0 holds most of 10; group 1 too but smaller, so it gets 20; group 2 nothing.
    assert adopt([[1, 2, 4], [3, 5, 7], [8]], former) == [10, 20, None]
    assert adopt([[6], [9]], {}) == [None, None]


@pytest.mark.parametrize(("text", "expected"), [
    ("Write to ada.lovelace+shop@example.co.uk please", "Write to [email] please"),
    ("Call +33 6 12 34 56 78 or 06.12.34.56.78.", "Call [phone] or [phone]."),
    ("Call (555) 123-4567 today", "Call [phone] today"),
    ("Order A1001 costs 25.90 EUR, 3 items", "Order A1001 costs 25.90 EUR, 3 items"),
    ("Hello Ada, LOVELACE here? Dear ada", "Hello [name], [name] here? Dear [name]"),
    ("Adam and Adalbert are not Ada", "Adam and Adalbert are not [name]"),
])
def test_scrubbing_replaces_addresses_numbers_and_the_customers_names(text, expected):
    assert scrubber(["Ada Lovelace", "", "X"])(text) == expected


def test_without_names_only_addresses_and_numbers_go():
    assert scrubber([])("Ada: ada@example.com") == "Ada: [email]"
