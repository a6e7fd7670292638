"""Content gaps (issue 8): how well the clustering groups real customer questions, and how
long the worker's job and the page take at scale.

1. Quality. BANKING77's 3,080 test texts (77 intents, 40 each; `../shared/data`) are
   embedded with the real packaged model (all-MiniLM-L6-v2), shuffled (seed 8) as if
   customers asked them in that order, and clustered by ``knowledge_base.gaps.clustering``
   at several thresholds. Each run is scored against the intents: purity (share of
   questions in their cluster's majority intent), adjusted Rand index, V-measure. BANKING77's
   intents are finer than what one article answers (e.g. ``card_arrival`` and
   ``card_delivery_estimate``), so merged intents lower the scores without being wrong.

2. Scale. A fresh database (SQLite file, then PostgreSQL) gets ``--questions`` escalated
   questions by bulk insert, spread over 30 days; their vectors are BANKING77 train-text
   vectors with a little noise (the model is not run on each of them: a lookup embedder
   returns them, so the figure is the job's own cost). Timed: the first ``refresh`` (every
   question), an incremental one (500 new questions), the page's query (``list_gaps``,
   25 a page, by volume and by growth) and one gap's detail, each ``--repeat`` times,
   after a ``VACUUM ANALYZE`` (``ANALYZE`` on SQLite) as autovacuum would run.

    .venv/bin/python -m benchmarks.content_gaps [--questions 50000] [--repeat 20] [--write]
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
from sklearn.metrics import adjusted_rand_score, homogeneity_completeness_v_measure
from sqlalchemy import func, insert, select, text

from benchmarks.banking77_kb import shared_data_dir, texts_by_category, train_csv
from benchmarks.chat_cluster import fresh_database, scratch_folder
from benchmarks.common import (
    header,
    load_note,
    ms,
    percentile,
    perturbed,
    timed,
    write_section,
)
from helpdesk.extensions import db, unit_of_work
from helpdesk.migrate import migrated_app
from helpdesk.orm import utcnow
from knowledge_base.gaps.clustering import assign
from knowledge_base.gaps.queries import GapFilter, GapSort, get_gap, list_gaps
from knowledge_base.gaps.service import GapSettings, refresh
from knowledge_base.models import ContentGapCluster, UnansweredQuestion
from knowledge_base.search.embedder import PACKAGED_MODEL, SentenceTransformerEmbedder, Vectors

THRESHOLDS = (0.40, 0.45, 0.50, 0.55, 0.60)
DEFAULT_THRESHOLD = 0.45
INCREMENT = 500
SEED = 8


def test_texts() -> tuple[list[str], list[str]]:
    """BANKING77's test texts and their intents, in a fixed shuffled order."""
    with (shared_data_dir() / "banking77" / "test.csv").open(newline="",
                                                              encoding="utf-8") as rows:
        pairs = [(row["text"], row["category"]) for row in csv.DictReader(rows)]
    order = np.random.default_rng(SEED).permutation(len(pairs))
    return [pairs[i][0] for i in order], [pairs[i][1] for i in order]


def purity(labels: Sequence[int], truth: Sequence[str]) -> float:
    majority: dict[int, dict[str, int]] = {}
    for label, intent in zip(labels, truth, strict=True):
        counts = majority.setdefault(label, {})
        counts[intent] = counts.get(intent, 0) + 1
    return sum(max(c.values()) for c in majority.values()) / len(truth)


def quality(model: SentenceTransformerEmbedder) -> str:
    texts, intents = test_texts()
    model.encode(texts[:64])  # warm-up
    start = time.perf_counter()
    vectors = model.encode(texts)
    encode = time.perf_counter() - start
    rows = []
    for threshold in THRESHOLDS:
        seconds = timed(lambda t=threshold: _clustered(vectors, t))
        mark = " (default)" if threshold == DEFAULT_THRESHOLD else ""
        rows.append(_scores(f"{threshold:.2f}{mark}", _clustered(vectors, threshold),
                            intents, seconds))
    centroid = _centroid_linkage(vectors, DEFAULT_THRESHOLD)
    rows.append(_scores(f"{DEFAULT_THRESHOLD:.2f}, cosine to the centroid instead of the "
                        "mean cosine (not used: for comparison)", centroid, intents, None))
    return (f"{len(texts):,} questions, {len(set(intents))} intents; embedding them took "
            f"{encode:.1f} s ({len(texts) / encode:.0f} questions/s)\n\n"
            "| Threshold | Clusters | of 5+ questions | Largest | Purity | ARI | V-measure "
            "(homogeneity / completeness) | Clustering time |\n"
            "|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))


def _clustered(vectors: Vectors, threshold: float) -> list[int]:
    empty = np.zeros((0, vectors.shape[1]), dtype=np.float32)
    return assign(vectors, empty, np.zeros(0, dtype=np.int64), threshold).labels


def _scores(name: str, labels: list[int], intents: list[str], seconds: float | None) -> str:
    sizes = np.bincount(labels)
    h, c, v = homogeneity_completeness_v_measure(intents, labels)
    return (f"| {name} | {len(sizes)} | {(sizes >= 5).sum()} | {sizes.max()} | "
            f"{purity(labels, intents):.3f} | {adjusted_rand_score(intents, labels):.3f} | "
            f"{v:.3f} ({h:.3f} / {c:.3f}) | {ms(seconds) if seconds else 'n/a'} |")


def _centroid_linkage(vectors: Vectors, threshold: float) -> list[int]:
    """The variant the docs compare with: join the cluster of most similar centroid."""
    sums: list[Vectors] = []
    labels = []
    for row in vectors:
        similarities = [float(row @ s) / float(np.linalg.norm(s)) for s in sums]
        best = int(np.argmax(similarities)) if sums else -1
        if best >= 0 and similarities[best] >= threshold:
            sums[best] = sums[best] + row
        else:
            best = len(sums)
            sums.append(row.copy())
        labels.append(best)
    return labels


class LookupEmbedder:
    """Returns the precomputed vector of question ``q<n>``: the job's cost without the
    model's."""

    name = "lookup"

    def __init__(self, vectors: Vectors) -> None:
        self.vectors = vectors
        self.dimension = vectors.shape[1]

    def encode(self, texts: Sequence[str]) -> Vectors:
        return self.vectors[[int(text.removeprefix("q")) for text in texts]]


def add_questions(start: int, count: int) -> None:
    now = utcnow()
    rows = [{"text": f"q{n}", "language": "en", "reason": "low_confidence",
             "created_at": now - timedelta(days=30 * (n % 997) / 997)}
            for n in range(start, start + count)]
    db.session.execute(insert(UnansweredQuestion), rows)
    db.session.commit()


def scale(kind: str, questions: int, repeat: int, vectors: Vectors) -> list[str]:
    embedder = LookupEmbedder(vectors)
    settings = GapSettings("lookup", DEFAULT_THRESHOLD)
    with scratch_folder() as folder, fresh_database(kind, folder) as url, migrated_app(
            {"database_url": url, "instance_path": str(folder / "instance"),
             "secret_key": "benchmark", "log_level": "WARNING"}) as app, app.app_context():
        add_questions(0, questions)
        first = timed(lambda: _refresh(settings, embedder))
        add_questions(questions, INCREMENT)
        again = timed(lambda: _refresh(settings, embedder))
        _vacuum(kind)
        clusters = db.session.scalar(select(func.count()).select_from(ContentGapCluster))
        volume = _query_times(GapFilter(), repeat)
        growth = _query_times(GapFilter(sort=GapSort.GROWTH), repeat)
        biggest = list_gaps(db.session, GapFilter(), utcnow(), per_page=1).items[0]
        detail = [timed(lambda: get_gap(db.session, biggest.cluster.id, utcnow(),
                                        examples=100)) for _ in range(repeat)]
    name = "SQLite" if kind == "sqlite" else "PostgreSQL"
    return [name, f"{first:.1f} s ({questions / first:,.0f}/s)",
            f"{again:.2f} s", f"{clusters:,} (largest {biggest.questions:,})",
            _p(volume), _p(growth), _p(detail)]


def _vacuum(kind: str) -> None:
    """What autovacuum does after the bulk writes: the page's counts then read the index
    alone (PostgreSQL's index-only scans need the visibility map)."""
    statement = "ANALYZE" if kind == "sqlite" else \
        "VACUUM ANALYZE unanswered_questions, content_gap_clusters"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(statement))


def _refresh(settings: GapSettings, embedder: LookupEmbedder) -> None:
    with unit_of_work() as uow:
        refresh(uow, settings, lambda: embedder)


def _query_times(filters: GapFilter, repeat: int) -> list[float]:
    list_gaps(db.session, filters, utcnow())  # warm-up
    return [timed(lambda: list_gaps(db.session, filters, utcnow())) for _ in range(repeat)]


def _p(values: list[float]) -> str:
    return f"{ms(percentile(values, 50))} / {ms(percentile(values, 95))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    load = load_note()
    model = SentenceTransformerEmbedder(PACKAGED_MODEL)
    report = quality(model)
    print(report)
    train = [t for texts in texts_by_category(train_csv()).values() for t in texts]
    base = model.encode(train)
    rng = np.random.default_rng(SEED)
    copies = -(-(args.questions + INCREMENT) // len(base))
    vectors = np.concatenate([perturbed(base, rng) for _ in range(copies)])
    table = [scale(kind, args.questions, args.repeat, vectors) for kind in ("sqlite",
                                                                          "postgres")]
    scale_md = ("| Database | First run (all questions) | Next run (+500) | Clusters | "
                "Page by volume p50 / p95 | Page by growth p50 / p95 | One gap (100 "
                "questions) p50 / p95 |\n|---|---|---|---|---|---|---|\n"
                + "\n".join("| " + " | ".join(row) + " |" for row in table))
    print(scale_md)
    if args.write:
        write_section("content-gaps", "## Content gaps (issue 8)\n\n"
                      + header("benchmarks.content_gaps", load)
                      + "\n### Clustering quality on BANKING77 (real model)\n\n" + report
                      + f"\n\n### The job and the page at {args.questions:,} questions\n\n"
                      + scale_md + "\n")


if __name__ == "__main__":
    main()
