"""Search latency through the service at 10k and 100k chunks, one query at a time.

The knowledge base is synthetic: articles on BANKING77 categories (a body of three train
texts, four others as example questions) whose chunk vectors are the real model's vectors
of those texts, slightly perturbed, written through the index store as a rebuild would.
The queries are BANKING77 test texts. For each query the raw model encode
(``embedder.encode([q])``) is timed next to the search, so the overhead shows.

    .venv/bin/python -m benchmarks.latency [--queries N] [--sizes 10000,100000] [--write]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.common import (
    Corpus,
    add_synthetic_kb,
    header,
    indexed_vectors,
    load_note,
    ms,
    percentile,
    settle,
    throwaway_app,
    timed,
    train_corpus,
    write_section,
)
from benchmarks.retrieval import test_queries
from knowledge_base.search import SearchFilters, search_service
from knowledge_base.search.embedder import PACKAGED_MODEL, Embedder, SentenceTransformerEmbedder
from knowledge_base.search.service import SearchService

MODULE = "benchmarks.latency"
CHUNKS_PER_ARTICLE = 5
WARM_UP = 20
LIMIT = 5
TARGET_OVERHEAD = 0.010  # p95 search <= p95 encode + 10 ms


@dataclass(frozen=True)
class Measured:
    chunks: int
    articles: int
    build_seconds: float
    load_seconds: float
    settle_seconds: float
    search: list[float]
    encode: list[float]

    def p(self, values: list[float], q: float) -> float:
        return percentile(values, q)

    @property
    def overhead_p95(self) -> float:
        return percentile(self.search, 95) - percentile(self.encode, 95)

    @property
    def paired_overhead_p95(self) -> float:
        """The 95th percentile of each query's own search - encode."""
        return percentile([s - e for s, e in zip(self.search, self.encode, strict=True)], 95)


def time_queries(service: SearchService, texts: list[str]) -> tuple[list[float], list[float]]:
    """(search seconds, encode seconds) per query, the two timed back to back."""
    searches, encodes = [], []
    filters = SearchFilters()
    for text in texts:
        encodes.append(timed(lambda text=text: service.embedder.encode([text])))
        searches.append(timed(lambda text=text: service.search(text, filters, LIMIT)))
    return searches, encodes


def measure(make_embedder: Callable[[], Embedder], corpus: Corpus, chunks: int,
            texts: list[str], profile: bool) -> Measured:
    """Build a KB of ``chunks`` chunks, load it in the service, time ``texts``."""
    articles = chunks // CHUNKS_PER_ARTICLE
    with throwaway_app(make_embedder) as app:
        start = time.perf_counter()
        written = add_synthetic_kb(app, corpus, articles, CHUNKS_PER_ARTICLE)
        build = time.perf_counter() - start
        service = search_service(app)
        load = timed(service.refresh)
        background = settle(service)  # not to time queries against the calibration
        if indexed_vectors(service) != written:
            raise RuntimeError(f"the index holds {indexed_vectors(service)} vectors, "
                               f"{written} were written")
        time_queries(service, texts[:WARM_UP])
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        searches, encodes = time_queries(service, texts[WARM_UP:])
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return Measured(written, articles, build, load, background, searches, encodes)


def report(results: list[Measured], queries: int) -> str:
    rows = "\n".join(
        f"| {m.chunks:,} | {m.articles:,} | {ms(m.p(m.search, 50))} | {ms(m.p(m.search, 95))} "
        f"| {ms(m.p(m.encode, 50))} | {ms(m.p(m.encode, 95))} | {ms(m.overhead_p95)} "
        f"| {ms(m.paired_overhead_p95)} | {_verdict(m)} |" for m in results)
    setup = "; ".join(f"{m.chunks:,} chunks written in {m.build_seconds:.0f} s, loaded by "
                      f"`refresh()` in {m.load_seconds:.1f} s, then {m.settle_seconds:.0f} s "
                      "of background training and calibration (waited for before timing)"
                      for m in results)
    return ("| Chunks in the loaded index | Articles | Search p50 | Search p95 | Encode p50 "
            "| Encode p95 | p95 overhead (search p95 - encode p95) | Per-query overhead p95 "
            "| Target |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
            f"{rows}\n\nTarget: search p95 <= encode p95 + {ms(TARGET_OVERHEAD)} at 100k "
            f"chunks.\n\n- Queries: {queries} BANKING77 test texts per size, one at a time, "
            f"after {WARM_UP} warm-up queries; `search(text, SearchFilters(), limit={LIMIT})`"
            f"\n- Knowledge base: synthetic, {CHUNKS_PER_ARTICLE} chunks an article (a body "
            "of three train texts, four train texts as example questions), vectors = the "
            "real model's vectors of those texts perturbed (cosine ~0.95) and renormalised; "
            f"the service's index was checked to hold every chunk\n- Setup: {setup}\n")


def _verdict(m: Measured) -> str:
    return "met" if m.overhead_p95 <= TARGET_OVERHEAD else "MISSED"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=500, help="timed queries per size")
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts, comma-separated")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of each size's timed queries")
    parser.add_argument("--write", action="store_true",
                        help="update this benchmark's section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    load = load_note()
    texts = [q.text for q in test_queries(None)][:WARM_UP + args.queries]
    embedder = SentenceTransformerEmbedder(PACKAGED_MODEL)
    corpus = train_corpus(embedder)
    results = [measure(lambda: embedder, corpus, int(size), texts, args.profile)
               for size in args.sizes.split(",")]
    section = (f"### Search latency\n\n{header(MODULE, load)}\n"
               f"{report(results, len(texts) - WARM_UP)}")
    print(section)
    if args.write:
        write_section("latency", section)


if __name__ == "__main__":
    main()
