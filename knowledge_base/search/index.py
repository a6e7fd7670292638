"""The dense index: the ``VectorIndex`` interface and its exact faiss implementation."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np


class VectorIndex(Protocol):
    """Unit vectors under integer ids (the chunk ids), searched by inner product."""

    dimension: int

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> None: ...

    def search(self, vector: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best ``(ids, similarities)``, among ``allowed`` ids only if given."""
        ...

    def vectors(self, ids: np.ndarray) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...


class FaissIndex:
    """``IndexIDMap2(IndexFlatIP)``: exact cosine search over normalised vectors."""

    def __init__(self, dimension: int, index: faiss.IndexIDMap2 | None = None) -> None:
        self.dimension = dimension
        self._index = index or faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    @classmethod
    def load(cls, path: Path) -> FaissIndex:
        index = faiss.read_index(str(path))
        return cls(index.d, index)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, np.float32),
                                     np.asarray(ids, np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, np.int64))

    def search(self, vector: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self))
        if k == 0 or (allowed is not None and not len(allowed)):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        query = np.ascontiguousarray(vector.reshape(1, -1), np.float32)
        if allowed is None:
            scores, ids = self._index.search(query, k)
        else:
            selector = faiss.IDSelectorBatch(np.asarray(allowed, np.int64))
            scores, ids = self._index.search(query, k, params=faiss.SearchParameters(sel=selector))
        found = ids[0] >= 0
        return ids[0][found], scores[0][found]

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.dimension), np.float32)
        return self._index.reconstruct_batch(np.asarray(ids, np.int64))

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))
