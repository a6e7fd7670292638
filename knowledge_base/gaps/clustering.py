"""Clustering questions by meaning: incremental average linkage on normalised embeddings.

Questions are taken one by one, oldest first. Each joins the cluster whose members it is
the most similar to on average (the mean of its cosines to them), when that mean reaches
the threshold; otherwise it starts a new cluster. The mean cosine to a cluster is the dot
product with the sum of its members' vectors divided by their number, so a cluster is kept
as that sum and count. Unlike the cosine to the centroid, the mean does not rise as a
cluster spreads, so a large cluster does not swallow its neighbours (BANKING77 at 0.45: the
largest cluster holds 131 questions instead of 468, the adjusted Rand index is 0.40
instead of 0.19; benchmarks/RESULTS.md).
The same questions in the same order always give the same clusters, and questions
arriving later extend the clusters without moving the earlier ones.

The similarities to the clusters as they stood before a chunk of questions are one matrix
product; only the clusters the chunk itself changed are compared again, question by
question, so the result is exactly that of the one-by-one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from knowledge_base.search.embedder import Vectors

CHUNK = 512
Counts = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Assignment:
    """``labels[i]``: the cluster (row of ``sums`` and ``sizes``) question ``i`` joined;
    rows from the number of clusters given on are new clusters."""

    labels: list[int]
    sums: Vectors
    sizes: Counts


def assign(vectors: Vectors, sums: Vectors, sizes: Counts, threshold: float) -> Assignment:
    """Place each row of ``vectors`` (normalised, in order) into the clusters whose member
    vectors add up to ``sums`` (``sizes`` members each), opening new clusters as needed."""
    known = len(sums)
    room = np.zeros((known + len(vectors), vectors.shape[1]), dtype=np.float32)
    room[:known] = sums
    counts = np.zeros(known + len(vectors), dtype=np.int64)
    counts[:known] = sizes
    labels: list[int] = []
    for start in range(0, len(vectors), CHUNK):
        rows = vectors[start:start + CHUNK]
        before = (rows @ room[:known].T) / np.maximum(counts[:known], 1)
        touched: set[int] = set()
        for row, similarities in zip(rows, before, strict=True):
            label = _best_cluster(row, similarities, room, counts, known, touched, threshold)
            if label is None:
                label, known = known, known + 1
            room[label] += row
            counts[label] += 1
            touched.add(label)
            labels.append(label)
    return Assignment(labels, room[:known], counts[:known])


def _best_cluster(row: Vectors, before: Vectors, sums: Vectors, counts: Counts, known: int,
                  touched: set[int], threshold: float) -> int | None:
    """The cluster of highest mean cosine at or above ``threshold`` (the lowest on a tie),
    or None."""
    if not known:
        return None
    similarities = np.full(known, -np.inf, dtype=np.float32)
    similarities[:len(before)] = before
    if touched:
        changed = np.fromiter(sorted(touched), dtype=np.int64)
        similarities[changed] = (sums[changed] @ row) / counts[changed]
    best = int(np.argmax(similarities))
    return best if similarities[best] >= threshold else None


def centrality(vectors: Vectors, total: Vectors) -> Vectors:
    """Each member's cosine to its cluster's centroid (``total``: the members' sum)."""
    return vectors @ unit_rows(total.reshape(1, -1))[0]


def unit_rows(matrix: Vectors) -> Vectors:
    """The rows scaled to length 1 (a zero row stays zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def adopt(groups: list[list[int]], former: dict[int, int]) -> list[int | None]:
    """After a reclustering: for each new group of question ids, the former cluster most
    of its members were in, so its id and the managers' verdict live on (each former
    cluster goes to at most one group, the largest first; None: a new cluster)."""
    order = sorted(range(len(groups)), key=lambda g: (-len(groups[g]), g))
    taken: set[int] = set()
    adopted: list[int | None] = [None] * len(groups)
    for index in order:
        votes: dict[int, int] = {}
        for question in groups[index]:
            if (cluster := former.get(question)) is not None and cluster not in taken:
                votes[cluster] = votes.get(cluster, 0) + 1
        if votes:
            adopted[index] = min(votes, key=lambda c: (-votes[c], c))
            taken.add(adopted[index])
    return adopted


def representatives(vectors: Vectors, count: int, duplicate: float) -> list[int]:
    """Up to ``count`` rows, the closest to the rows' common meaning first, skipping any
    row at ``duplicate`` cosine or more from one already taken (the same macro twice)."""
    if not len(vectors):
        return []
    order = np.argsort(-centrality(vectors, vectors.sum(axis=0)), kind="stable")
    taken: list[int] = []
    for index in order.tolist():
        if all(float(vectors[index] @ vectors[other]) < duplicate for other in taken):
            taken.append(index)
        if len(taken) == count:
            break
    return taken
