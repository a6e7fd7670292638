"""Micro-batching: concurrent ``encode`` calls arriving within a few milliseconds share one
model call. A transformer encodes 32 short texts in little more time than one, so under
load the assistant answers many times more questions per second than one call each.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from knowledge_base.search.embedder import Embedder, Vectors

DEFAULT_WINDOW_SECONDS = 0.005
DEFAULT_MAX_BATCH = 64


@dataclass
class _Request:
    texts: list[str]
    result: Future[Vectors] = field(default_factory=Future)


class BatchingEmbedder:
    """An ``Embedder`` that merges the texts of concurrent callers into one ``encode`` of
    ``inner``: the first waiting call opens a window of ``window_seconds``; every call made
    before it closes (up to ``max_batch`` texts) goes in the same model call. A call of
    ``max_batch`` texts or more goes straight to the model."""

    def __init__(self, inner: Embedder, *, window_seconds: float = DEFAULT_WINDOW_SECONDS,
                 max_batch: int = DEFAULT_MAX_BATCH) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.window_seconds = window_seconds
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._start_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._carried: _Request | None = None  # read and written by the worker only

    def encode(self, texts: Sequence[str]) -> Vectors:
        """The texts' vectors, computed in a model call shared with concurrent callers."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) >= self.max_batch:
            return self.inner.encode(texts)
        request = _Request(list(texts))
        self._ensure_worker()
        self._queue.put(request)
        return request.result.result()

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name="bot-embedder",
                                                daemon=True)
                self._worker.start()

    def _serve(self) -> None:
        while True:
            batch = self._next_batch()
            _encode_batch(self.inner, batch)

    def _next_batch(self) -> list[_Request]:
        """Block for a first request, then gather others until the window closes or the
        batch is full; a request that would overflow it opens the next batch."""
        first, self._carried = self._carried or self._queue.get(), None
        batch, size = [first], len(first.texts)
        closes = time.monotonic() + self.window_seconds
        while size < self.max_batch:
            try:
                request = self._queue.get(timeout=max(0.0, closes - time.monotonic()))
            except queue.Empty:
                break
            if size + len(request.texts) > self.max_batch:
                self._carried = request
                break
            batch.append(request)
            size += len(request.texts)
        return batch


def _encode_batch(inner: Embedder, batch: list[_Request]) -> None:
    """One model call for the whole batch; each caller gets its rows (or the error)."""
    try:
        vectors = inner.encode([text for request in batch for text in request.texts])
    except Exception as exc:
        for request in batch:
            request.result.set_exception(exc)
        return
    offset = 0
    for request in batch:
        request.result.set_result(vectors[offset:offset + len(request.texts)])
        offset += len(request.texts)
