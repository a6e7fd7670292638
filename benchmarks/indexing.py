"""Indexing: full-reindex throughput against the model's own ceiling, and the time one
edited article takes to reach the search index of a 10k-article knowledge base.

Full reindex: a knowledge base of real texts (BANKING77 train texts as bodies under
headings and as example questions), imported through the product's importer; then
``service.rebuild()`` is timed against ``embedder.encode`` on the very texts it embeds,
same batch size, called directly. Edits: a synthetic 10k-article knowledge base (vectors
written through the index store, as in the latency benchmark); each edit goes through
``articles.update_article`` in a unit of work, whose event re-indexes the article.

    .venv/bin/python -m benchmarks.indexing [--articles N] [--edits N] [--write]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from flask import Flask
from sqlalchemy import select

from benchmarks.banking77_kb import humanise, texts_by_category, train_csv
from benchmarks.common import (
    Corpus,
    add_synthetic_kb,
    article_ids,
    header,
    indexed_chunk_ids,
    indexed_vectors,
    load_note,
    ms,
    nearest_chunk,
    percentile,
    settle,
    synthetic_article,
    throwaway_app,
    timed,
    train_corpus,
    write_section,
)
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from knowledge_base import articles, importer
from knowledge_base.models import Article, ArticleContent
from knowledge_base.search import search_service
from knowledge_base.search.chunking import chunk_article, embedding_text
from knowledge_base.search.embedder import (
    BATCH_SIZE,
    PACKAGED_MODEL,
    Embedder,
    SentenceTransformerEmbedder,
)
from knowledge_base.search.service import REBUILD_BATCH, SearchService

MODULE = "benchmarks.indexing"
TARGET_RATIO = 0.85
TARGET_EDIT = 0.300
SECTIONS, PARAGRAPHS, SENTENCES, QUESTIONS = 2, 3, 2, 8  # ~10 chunks an article
EDIT_CHUNKS_PER_ARTICLE, WARM_UP_EDITS = 5, 2


# --- full reindex -------------------------------------------------------------------------


def reindex_records(count: int) -> list[importer.Entry]:
    """``count`` published articles made of BANKING77 train texts, round the categories."""
    grouped = texts_by_category(train_csv())
    categories = list(grouped)
    used: dict[str, int] = {}
    entries = []
    for number in range(count):
        category = categories[number % len(categories)]
        texts = _taking(grouped[category], used.get(category, 0))
        needed = SECTIONS * PARAGRAPHS * SENTENCES + QUESTIONS
        used[category] = used.get(category, 0) + needed
        record = _record(category, number, [next(texts) for _ in range(needed)])
        entries.append(importer.Entry(f"article {number}", importer.record_from(record)))
    return entries


def _taking(texts: list[str], start: int) -> Iterator[str]:
    """The texts from ``start`` on, round and round."""
    position = start
    while True:
        yield texts[position % len(texts)]
        position += 1


def _record(category: str, number: int, texts: list[str]) -> dict[str, object]:
    per_section = PARAGRAPHS * SENTENCES
    sections = [texts[s * per_section:(s + 1) * per_section] for s in range(SECTIONS)]
    body = "\n\n".join(
        f"## {humanise(category)}: part {n + 1}\n\n" + "\n\n".join(
            " ".join(section[p * SENTENCES:(p + 1) * SENTENCES]) for p in range(PARAGRAPHS))
        for n, section in enumerate(sections))
    return {"id": f"reindex-{number}", "title": f"{humanise(category)} ({number})",
            "body": body, "language": "en", "status": "published",
            "example_questions": texts[SECTIONS * per_section:]}


def rebuild_texts(app: Flask) -> list[list[str]]:
    """What a rebuild embeds, per article, in its order."""
    with app.app_context():
        rows = db.session.scalars(select(Article).order_by(Article.id))
        return [[embedding_text(a.title, d) for d in chunk_article(a.content)] for a in rows]


@dataclass(frozen=True)
class Throughput:
    chunks: int
    rebuild: list[float]  # seconds, each run
    ceiling: list[float]  # one encode call on every text
    grouped: list[float]  # the same texts in the rebuild's calls (64 articles each)

    @staticmethod
    def rate(chunks: int, runs: list[float]) -> float:
        return chunks / min(runs)

    @property
    def ratio(self) -> float:
        return min(self.ceiling) / min(self.rebuild)


def measure_reindex(embedder: Embedder, count: int, runs: int, profile: bool) -> Throughput:
    """Import ``count`` real-text articles, then time rebuilds against direct encodes."""
    with throwaway_app(lambda: embedder) as app:
        with app.app_context():
            importer.import_entries(reindex_records(count), unit_of_work, SYSTEM)
        service = search_service(app)
        settle(service)
        per_article = rebuild_texts(app)
        texts = [text for group in per_article for text in group]
        rebuild, ceiling, grouped = [], [], []
        for _ in range(runs):
            ceiling.append(timed(lambda: embedder.encode(texts)))
            grouped.append(timed(lambda: _encode_grouped(embedder, per_article)))
            with _profiled(profile):
                rebuild.append(timed(service.rebuild))
            settle(service)  # the classifier trains after the swap: not during the next run
        if indexed_vectors(service) != len(texts):
            raise RuntimeError(f"the rebuilt index holds {indexed_vectors(service)} vectors, "
                               f"not {len(texts)}")
    return Throughput(len(texts), rebuild, ceiling, grouped)


def _encode_grouped(embedder: Embedder, per_article: list[list[str]]) -> None:
    for start in range(0, len(per_article), REBUILD_BATCH):
        embedder.encode([t for group in per_article[start:start + REBUILD_BATCH] for t in group])


@contextmanager
def _profiled(enabled: bool) -> Iterator[None]:
    """Print a cProfile of the block, by cumulative time, when ``enabled``."""
    if not enabled:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


# --- one edit in a 10k-article knowledge base ---------------------------------------------


@dataclass(frozen=True)
class Edits:
    articles: int
    chunks: int
    load_seconds: float
    edit: list[float]  # update_article call → index holds the new vectors
    encode: list[float]  # the model alone on the edited article's texts
    background: list[float]  # then the classifier's training and its listeners


def measure_edits(embedder: Embedder, corpus: Corpus, size: int, count: int,
                  profile: bool) -> Edits:
    """Time ``count`` edits (after warm-up) in a synthetic ``size``-article knowledge base."""
    with throwaway_app(lambda: embedder) as app:
        written = add_synthetic_kb(app, corpus, size, EDIT_CHUNKS_PER_ARTICLE)
        service = search_service(app)
        load = timed(service.refresh)
        settle(service)
        ids = article_ids(app)
        rng = np.random.default_rng(11)
        chosen = rng.choice(len(ids), size=WARM_UP_EDITS + count, replace=False)
        timings = []
        with _profiled(profile):
            for position in chosen:
                timings.append(_edit(app, service, corpus, ids[position], int(position), rng))
        if indexed_vectors(service) != written:
            raise RuntimeError(f"the index holds {indexed_vectors(service)} vectors after the "
                               f"edits, not {written}")
    kept = timings[WARM_UP_EDITS:]
    return Edits(size, written, load, *[[t[n] for t in kept] for n in range(3)])


def _edit(app: Flask, service: SearchService, corpus: Corpus, article_id: int, number: int,
          rng: np.random.Generator) -> tuple[float, float, float]:
    """Seconds for the edit to reach the index, to encode its texts alone, and for the
    background work it started (waited for: edits come one at a time, not in bursts)."""
    content = synthetic_article(corpus, number, EDIT_CHUNKS_PER_ARTICLE - 1, rng).content
    before = set(indexed_chunk_ids(service, article_id))
    with app.app_context():
        seconds = timed(lambda: _update(article_id, content))
    texts = [embedding_text(content.title, d) for d in chunk_article(content)]
    background = settle(service)
    encode_seconds = timed(lambda: service.embedder.encode(texts))
    _check_indexed(service, article_id, before, service.embedder.encode(texts[:1])[0])
    return seconds, encode_seconds, background


def _update(article_id: int, content: ArticleContent) -> None:
    with unit_of_work() as uow:
        articles.update_article(uow, SYSTEM, article_id, content)


def _check_indexed(service: SearchService, article_id: int, before: set[int],
                   body_vector: np.ndarray) -> None:
    """The index holds new chunks for the article, and finds its new body vector."""
    after = set(indexed_chunk_ids(service, article_id))
    if not after or after & before:
        raise RuntimeError(f"article {article_id}'s chunks were not replaced in the index")
    if nearest_chunk(service, body_vector) not in after:
        raise RuntimeError(f"article {article_id}'s new body vector is not in the index")


# --- report -------------------------------------------------------------------------------


def reindex_report(t: Throughput) -> str:
    verdict = "met" if t.ratio >= TARGET_RATIO else "MISSED"
    runs = ", ".join(f"{s:.1f} s" for s in t.rebuild)
    return (
        f"Full reindex (`service.rebuild()`) of {t.chunks:,} chunks of real text, best of "
        f"{len(t.rebuild)} runs (each: {runs}):\n\n"
        "| Measure | Chunks/s |\n| --- | ---: |\n"
        f"| `service.rebuild()` | {Throughput.rate(t.chunks, t.rebuild):.1f} |\n"
        f"| Ceiling: `embedder.encode(all texts)` (batch size {BATCH_SIZE}) "
        f"| {Throughput.rate(t.chunks, t.ceiling):.1f} |\n"
        f"| Same texts encoded in the rebuild's calls ({REBUILD_BATCH} articles a call) "
        f"| {Throughput.rate(t.chunks, t.grouped):.1f} |\n\n"
        f"Rebuild / ceiling: {t.ratio:.1%}; target >= {TARGET_RATIO:.0%}: {verdict}.\n")


def edits_report(e: Edits) -> str:
    p95 = percentile(e.edit, 95)
    verdict = "met" if p95 <= TARGET_EDIT else "MISSED"
    return (
        f"One edited article reaching the index, in a {e.articles:,}-article knowledge "
        f"base ({e.chunks:,} chunks, synthetic vectors; loaded in {e.load_seconds:.1f} s), "
        f"{len(e.edit)} edits after {WARM_UP_EDITS} warm-up; timed from the "
        "`articles.update_article` call to its return (the event bus is synchronous: the "
        "service has then swapped the article's chunks; each edit was checked in the index):"
        "\n\n| Measure | p50 | p95 |\n| --- | ---: | ---: |\n"
        f"| Edit → search index holds the new vectors | {ms(percentile(e.edit, 50))} "
        f"| {ms(p95)} |\n| The model alone on the article's {EDIT_CHUNKS_PER_ARTICLE} texts "
        f"| {ms(percentile(e.encode, 50))} | {ms(percentile(e.encode, 95))} |\n"
        "| Then, in the background: classifier training and the assistant's calibration "
        f"| {percentile(e.background, 50):.1f} s | {percentile(e.background, 95):.1f} s |\n\n"
        f"Target: p95 <= {ms(TARGET_EDIT)}: {verdict}.\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=200,
                        help="articles of the full-reindex knowledge base (~10 chunks each)")
    parser.add_argument("--runs", type=int, default=2, help="rebuilds (and ceilings) timed")
    parser.add_argument("--edits", type=int, default=20, help="edits timed")
    parser.add_argument("--edit-kb", type=int, default=10_000,
                        help="articles of the synthetic knowledge base the edits go to")
    parser.add_argument("--profile", action="store_true", help="cProfile rebuilds and edits")
    parser.add_argument("--write", action="store_true",
                        help="update this benchmark's section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    load = load_note()
    embedder = SentenceTransformerEmbedder(PACKAGED_MODEL)
    throughput = measure_reindex(embedder, args.articles, args.runs, args.profile)
    edits = measure_edits(embedder, train_corpus(embedder), args.edit_kb, args.edits,
                          args.profile)
    section = (f"### Indexing\n\n{header(MODULE, load)}\n{reindex_report(throughput)}\n"
               f"{edits_report(edits)}")
    print(section)
    if args.write:
        write_section("indexing", section)


if __name__ == "__main__":
    main()
