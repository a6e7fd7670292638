"""Micro-batching: concurrent calls arriving within a few milliseconds share one batched
call. A transformer encodes 32 short texts in little more time than one, and numpy,
faiss and scikit-learn score 32 rows in little more than one, so under load the
assistant answers many times more questions per second than with one call each.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from knowledge_base.search.embedder import Embedder, Vectors

DEFAULT_WINDOW_SECONDS = 0.005
DEFAULT_MAX_BATCH = 64
Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Request(Generic[Item, Result]):
    items: list[Item]
    result: Future[list[Result]] = field(default_factory=Future)


class MicroBatcher(Generic[Item, Result]):
    """Merges the items of concurrent ``submit`` calls into one call of ``process`` (items
    in, one result per item out, in order): the first waiting call opens a window of
    ``window_seconds``; every call made before it closes (up to ``max_batch`` items) goes
    in the same batch. ``process`` runs on one worker thread, started on first use after
    ``on_start`` (per-thread settings)."""

    def __init__(self, process: Callable[[list[Item]], Sequence[Result]], *,
                 window_seconds: float = DEFAULT_WINDOW_SECONDS,
                 max_batch: int = DEFAULT_MAX_BATCH, name: str = "micro-batcher",
                 on_start: Callable[[], None] = lambda: None) -> None:
        self.process = process
        self.window_seconds = window_seconds
        self.max_batch = max_batch
        self._name = name
        self._on_start = on_start
        self._queue: queue.SimpleQueue[_Request[Item, Result]] = queue.SimpleQueue()
        self._start_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._carried: _Request[Item, Result] | None = None  # the worker's only

    def submit(self, items: Sequence[Item]) -> list[Result]:
        """The items' results, computed in a batch shared with concurrent callers."""
        request: _Request[Item, Result] = _Request(list(items))
        self._ensure_worker()
        self._queue.put(request)
        return request.result.result()

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name=self._name,
                                                daemon=True)
                self._worker.start()

    def _serve(self) -> None:
        self._on_start()
        while True:
            _run_batch(self.process, self._next_batch())

    def _next_batch(self) -> list[_Request[Item, Result]]:
        """Block for a first request, then gather others until the window closes or the
        batch is full; a request that would overflow it opens the next batch."""
        first, self._carried = self._carried or self._queue.get(), None
        batch, size = [first], len(first.items)
        closes = time.monotonic() + self.window_seconds
        while size < self.max_batch:
            try:
                request = self._queue.get(timeout=max(0.0, closes - time.monotonic()))
            except queue.Empty:
                break
            if size + len(request.items) > self.max_batch:
                self._carried = request
                break
            batch.append(request)
            size += len(request.items)
        return batch


def _run_batch(process: Callable[[list[Item]], Sequence[Result]],
               batch: list[_Request[Item, Result]]) -> None:
    """One call for the whole batch; each caller gets its results (or the error)."""
    try:
        results = process([item for request in batch for item in request.items])
    except Exception as exc:
        for request in batch:
            request.result.set_exception(exc)
        return
    offset = 0
    for request in batch:
        request.result.set_result(list(results[offset:offset + len(request.items)]))
        offset += len(request.items)


class BatchingEmbedder:
    """An ``Embedder`` that merges the texts of concurrent callers into one ``encode`` of
    ``inner`` (a ``MicroBatcher``). A call of ``max_batch`` texts or more goes straight to
    the model."""

    def __init__(self, inner: Embedder, *, window_seconds: float = DEFAULT_WINDOW_SECONDS,
                 max_batch: int = DEFAULT_MAX_BATCH) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.max_batch = max_batch
        self._batcher: MicroBatcher[str, Vectors] = MicroBatcher(
            inner.encode, window_seconds=window_seconds, max_batch=max_batch,
            name="bot-embedder")

    def encode(self, texts: Sequence[str]) -> Vectors:
        """The texts' vectors, computed in a model call shared with concurrent callers."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) >= self.max_batch:
            return self.inner.encode(texts)
        return np.vstack(self._batcher.submit(texts))
