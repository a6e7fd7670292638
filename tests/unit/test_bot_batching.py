"""The micro-batching embedder: concurrent calls share one model call, each gets its rows."""

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from bot.batching import BatchingEmbedder, MicroBatcher
from tests.fakes import FakeEmbedder


class SlowFakeEmbedder(FakeEmbedder):
    """A fake whose calls take a while, as a model's do; records each call's texts."""

    def __init__(self, seconds: float = 0.02) -> None:
        super().__init__()
        self.seconds = seconds

    def encode(self, texts: Sequence[str]):
        time.sleep(self.seconds)
        return super().encode(texts)


class FailingEmbedder(FakeEmbedder):
    def encode(self, texts: Sequence[str]):
        raise RuntimeError("the model is unavailable")


def encode_concurrently(embedder: BatchingEmbedder, texts: list[str]) -> list[np.ndarray]:
    results: list[np.ndarray | None] = [None] * len(texts)
    start = threading.Barrier(len(texts))

    def call(n: int) -> None:
        start.wait()
        results[n] = embedder.encode([texts[n]])

    threads = [threading.Thread(target=call, args=(n,)) for n in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r for r in results if r is not None]


def test_concurrent_calls_share_a_model_call_and_get_their_own_rows():
    inner = SlowFakeEmbedder()
    embedder = BatchingEmbedder(inner, window_seconds=0.05)
    texts = [f"question number {n}" for n in range(8)]
    rows = encode_concurrently(embedder, texts)
    assert len(inner.calls) < len(texts)
    assert sorted(t for call in inner.calls for t in call) == sorted(texts)
    for text, row in zip(texts, rows, strict=True):
        np.testing.assert_allclose(row, FakeEmbedder().encode([text]))


def test_a_batch_never_exceeds_the_largest_size():
    inner = SlowFakeEmbedder()
    embedder = BatchingEmbedder(inner, window_seconds=0.05, max_batch=3)
    encode_concurrently(embedder, [f"text {n}" for n in range(7)])
    assert max(len(call) for call in inner.calls) <= 3
    assert sum(len(call) for call in inner.calls) == 7


def test_a_lone_call_is_answered_after_the_window():
    embedder = BatchingEmbedder(FakeEmbedder(), window_seconds=0.001)
    vectors = embedder.encode(["where is my parcel", "refund"])
    assert vectors.shape == (2, FakeEmbedder.dimension)
    assert embedder.encode([]).shape == (0, FakeEmbedder.dimension)


def test_a_large_call_goes_straight_to_the_model():
    inner = FakeEmbedder()
    embedder = BatchingEmbedder(inner, max_batch=4)
    embedder.encode([f"text {n}" for n in range(10)])
    assert [len(call) for call in inner.calls] == [10]


def test_a_model_error_reaches_every_caller_of_the_batch():
    embedder = BatchingEmbedder(FailingEmbedder(), window_seconds=0.001)
    with pytest.raises(RuntimeError, match="unavailable"):
        embedder.encode(["hello"])
    with pytest.raises(RuntimeError, match="unavailable"):
        embedder.encode(["hello again"])  # the worker survived the first failure


def test_it_is_an_embedder_with_the_inner_model_name_and_dimension():
    embedder = BatchingEmbedder(FakeEmbedder())
    assert (embedder.name, embedder.dimension) == (FakeEmbedder.name, FakeEmbedder.dimension)


def test_the_micro_batcher_runs_concurrent_submits_in_one_call_each_getting_its_results():
    calls: list[list[int]] = []

    def double(items: list[int]) -> list[int]:
        calls.append(items)
        time.sleep(0.02)
        return [2 * item for item in items]

    batcher = MicroBatcher(double, window_seconds=0.05)
    results: dict[int, list[int]] = {}
    start = threading.Barrier(6)

    def call(n: int) -> None:
        start.wait()
        results[n] = batcher.submit([n, 10 + n])

    threads = [threading.Thread(target=call, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) < 6
    assert results == {n: [2 * n, 20 + 2 * n] for n in range(6)}


def test_the_micro_batcher_sets_up_its_worker_thread_first():
    names: list[str] = []
    batcher = MicroBatcher(lambda items: items, window_seconds=0.001, name="worker-x",
                           on_start=lambda: names.append(threading.current_thread().name))
    assert batcher.submit(["a"]) == ["a"]
    assert batcher.submit(["b"]) == ["b"]
    assert names == ["worker-x"]
