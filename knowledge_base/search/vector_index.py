"""The dense index seam and its faiss implementation (inner product on normalised rows)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import faiss
import numpy as np
import numpy.typing as npt

from knowledge_base.search.embedder import Vectors

# From this many vectors a full build clusters them (IVF) so a query scans a fraction.
IVF_FROM = 50_000
IVF_PROBES = 24
# faiss compares queries with the vectors in one matrix product (BLAS) from this many
# query values at once (queries x dimension), one query at a time below. Its default,
# 128,000, is 333 queries of 384 dimensions: the assistant's batches of a few dozen
# questions went one at a time, 3.6x slower (0.41 against 0.11 ms a query on 6,000
# vectors), while one query alone is faster without BLAS. Process-wide in faiss.
BLAS_FROM_VALUES = 8192
faiss.cvar.distance_compute_blas_threshold = BLAS_FROM_VALUES


class VectorIndex(Protocol):
    def __len__(self) -> int: ...
    def add(self, ids: Sequence[int], vectors: Vectors) -> None: ...
    def remove(self, ids: Sequence[int]) -> None: ...
    def search(self, vector: Vectors, k: int) -> list[tuple[int, float]]: ...
    def search_many(self, vectors: Vectors, k: int) -> list[list[tuple[int, float]]]: ...


class FaissIndex:
    """Exact search (``IndexFlatIP``) for small knowledge bases, IVF for large ones.

    An index built empty takes its dimension from the first vectors added.
    """

    def __init__(self, index: faiss.Index | None = None) -> None:
        self._index = index

    @classmethod
    def build(cls, ids: Sequence[int], vectors: Vectors) -> FaissIndex:
        """A new index over ``vectors``; clustered when there are many of them."""
        index = cls(_trained_ivf(vectors) if len(ids) >= IVF_FROM else None)
        index.add(ids, vectors)
        return index

    @classmethod
    def deserialize(cls, data: npt.NDArray[np.uint8]) -> FaissIndex:
        index = faiss.deserialize_index(data)
        _set_probes(index)
        return cls(index)

    def __len__(self) -> int:
        return int(self._index.ntotal) if self._index is not None else 0

    def add(self, ids: Sequence[int], vectors: Vectors) -> None:
        if not len(ids):
            return
        if self._index is None:
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                 np.asarray(ids, dtype=np.int64))

    def remove(self, ids: Sequence[int]) -> None:
        if len(ids) and self._index is not None:
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, vector: Vectors, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest (id, cosine) pairs to one query row, best first."""
        return self.search_many(vector.reshape(1, -1), k)[0]

    def search_many(self, vectors: Vectors, k: int) -> list[list[tuple[int, float]]]:
        """``search`` for each row of ``vectors``, in one faiss call."""
        if not len(self):
            return [[] for _ in vectors]
        scores, ids = self._index.search(np.ascontiguousarray(vectors, dtype=np.float32),
                                         min(k, len(self)))
        return [[(int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i >= 0]
                for row_ids, row_scores in zip(ids.tolist(), scores.tolist(), strict=True)]

    def serialize(self) -> npt.NDArray[np.uint8]:
        if self._index is None:
            return np.zeros(0, dtype=np.uint8)
        return faiss.serialize_index(self._index)


def _trained_ivf(vectors: Vectors) -> faiss.Index:
    dimension = vectors.shape[1]
    lists = int(4 * math.sqrt(len(vectors)))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, lists,
                               faiss.METRIC_INNER_PRODUCT)
    index.train(np.ascontiguousarray(vectors, dtype=np.float32))
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # allows remove by id
    _set_probes(index)
    return index


def _set_probes(index: faiss.Index) -> None:
    if isinstance(index, faiss.IndexIVF):
        index.nprobe = IVF_PROBES
