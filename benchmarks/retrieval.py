"""Retrieval quality on BANKING77: does search put the right article first?

The knowledge base has one published article per category (its train texts as example
questions), imported through the product's importer, which indexes each article with the
packaged model. Every test text is then a query through the search service; the right
article is its category's. Side by side, the baseline: the frozen model's nearest example
question, computed directly with the embedder.

    .venv/bin/python -m benchmarks.retrieval [--limit N] [--write]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from flask import Flask
from sqlalchemy import select

from benchmarks.banking77_kb import external_id, shared_data_dir, train_csv, write_kb
from benchmarks.common import (
    Corpus,
    header,
    load_note,
    settle,
    throwaway_app,
    train_corpus,
    write_section,
)
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from knowledge_base import importer
from knowledge_base.models import Article
from knowledge_base.search import SearchFilters, search_service

MODULE = "benchmarks.retrieval"
LIMIT = 5  # hits asked for: MRR@5
TARGET_TOP1 = 0.94


@dataclass(frozen=True)
class Query:
    text: str
    category: str


@dataclass(frozen=True)
class Scores:
    """Where the right article came in each query's ranking (None: not in the top 5)."""

    ranks: list[int | None]

    @property
    def top1(self) -> float:
        return sum(rank == 1 for rank in self.ranks) / len(self.ranks)

    @property
    def mrr(self) -> float:
        return sum(1 / rank for rank in self.ranks if rank) / len(self.ranks)


def test_queries(limit: int | None) -> list[Query]:
    """BANKING77's test texts (the first ``limit`` of them when given)."""
    path = shared_data_dir() / "banking77" / "test.csv"
    with path.open(newline="", encoding="utf-8") as rows:
        queries = [Query(row["text"], row["category"]) for row in csv.DictReader(rows)]
    return queries[:limit] if limit else queries


def import_kb(app: Flask) -> float:
    """Import the BANKING77 knowledge base through the product's importer; seconds taken."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "banking77.jsonl"
        write_kb(train_csv(), path)
        entries = importer.read_path(path)
        start = time.perf_counter()
        with app.app_context():
            summary = importer.import_entries(entries, unit_of_work, SYSTEM)
        elapsed = time.perf_counter() - start
    if summary.rejected:
        raise RuntimeError(f"the import rejected articles: {summary.rejected}")
    return elapsed


def external_ids(app: Flask) -> dict[int, str]:
    with app.app_context():
        return {i: e for i, e in db.session.execute(select(Article.id, Article.external_id))}


def product_scores(app: Flask, queries: list[Query]) -> tuple[Scores, float]:
    """Each query through ``search_service(app).search``; and the seconds all took."""
    service, ids = search_service(app), external_ids(app)
    ranks: list[int | None] = []
    start = time.perf_counter()
    for query in queries:
        hits = [ids[hit.article_id] for hit in service.search(query.text, SearchFilters(), LIMIT)]
        ranks.append(_rank(hits, external_id(query.category)))
    return Scores(ranks), time.perf_counter() - start


def _rank(ranked: list[str], right: str) -> int | None:
    return ranked.index(right) + 1 if right in ranked else None


def baseline_scores(corpus: Corpus, queries: list[Query], query_vectors: np.ndarray) -> Scores:
    """Articles ranked by their nearest example question's cosine with the query."""
    similarity = query_vectors @ corpus.vectors.T
    # The corpus holds each category's texts together, so a category is a column slice.
    starts = np.flatnonzero(np.r_[True, np.diff(corpus.labels) != 0])
    per_category = np.maximum.reduceat(similarity, starts, axis=1)
    order = np.argsort(-per_category, axis=1)[:, :LIMIT]
    names = [corpus.categories[int(corpus.labels[s])] for s in starts]
    return Scores([_rank([names[c] for c in row], query.category)
                   for row, query in zip(order, queries, strict=True)])


def report(product: Scores, baseline: Scores, facts: dict[str, str]) -> str:
    verdict = "met" if product.top1 >= TARGET_TOP1 else "MISSED"
    rows = [("Product search (`search_service(app).search`, hybrid)", product),
            ("Baseline: frozen model, nearest example question", baseline)]
    table = "\n".join(f"| {name} | {s.top1:.2%} | {s.mrr:.4f} |" for name, s in rows)
    lines = "\n".join(f"- {key}: {value}" for key, value in facts.items())
    return (f"| Ranking | Top-1 accuracy | MRR@5 |\n| --- | ---: | ---: |\n{table}\n\n"
            f"Target: top-1 >= {TARGET_TOP1:.0%}: {verdict} "
            f"({product.top1 - baseline.top1:+.2%} over the baseline).\n\n{lines}\n")


def run(limit: int | None) -> tuple[str, str]:
    """Build, import, query; the report and the load note taken before starting."""
    load = load_note()
    queries = test_queries(limit)
    with throwaway_app() as app:
        seconds_import = import_kb(app)
        service = search_service(app)
        seconds_settle = settle(service)
        product, seconds_search = product_scores(app, queries)
        corpus = train_corpus(service.embedder)
        baseline = baseline_scores(corpus, queries,
                                   service.embedder.encode([q.text for q in queries]))
    facts = {"Queries": f"{len(queries):,} test texts of BANKING77 (test.csv)",
             "Knowledge base": f"{len(corpus.categories)} published articles, "
                               f"{len(corpus.texts):,} train texts as example questions",
             "Import and indexing (importer, real model)": f"{seconds_import:.0f} s, then "
                                                           f"{seconds_settle:.0f} s of background "
                                                           "training and calibration",
             "Querying through the service": f"{seconds_search:.0f} s "
                                             f"({seconds_search / len(queries) * 1000:.1f} ms "
                                             "a query)"}
    return report(product, baseline, facts), load


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None,
                        help="query only the first N test texts (a quick check)")
    parser.add_argument("--write", action="store_true",
                        help="update this benchmark's section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    body, load = run(args.limit)
    section = f"### Retrieval quality on BANKING77\n\n{header(MODULE, load)}\n{body}"
    print(section)
    if args.write:
        write_section("retrieval", section)


if __name__ == "__main__":
    main()
