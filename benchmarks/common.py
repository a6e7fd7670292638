"""What the knowledge-base benchmarks share: a throw-away app, timing and percentiles, the
machine's description, the sections of RESULTS.md, and a synthetic knowledge base whose
chunks get realistic vectors without running the model on each of them.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmarks.banking77_kb import humanise, texts_by_category, train_csv
from helpdesk.extensions import db
from helpdesk.migrate import migrated_app
from knowledge_base.models import (
    Article,
    ArticleContent,
    ArticleStatus,
    Audience,
    ChunkKind,
    ExampleQuestion,
)
from knowledge_base.search import search_service
from knowledge_base.search.chunking import ChunkDraft, chunk_article
from knowledge_base.search.embedder import Embedder, Vectors
from knowledge_base.search.service import SearchService
from knowledge_base.search.store import replace_all

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SYNTHETIC_CATEGORY = "synthetic"
# Noise added to each real vector before renormalising: the copy keeps a cosine of about
# 0.95 with its source, so copies of one text are near each other but not identical.
PERTURBATION = 0.017
SETTLE_TIMEOUT = 3600.0


# --- app ----------------------------------------------------------------------------------


@contextmanager
def throwaway_app(embedder_factory: Callable[[], Embedder] | None = None) -> Iterator[Flask]:
    """A migrated app on an SQLite file in a temporary folder, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="comptoir-bench-") as folder, migrated_app(
            {"database_url": f"sqlite:///{folder}/kb.db", "instance_path": f"{folder}/instance",
             "secret_key": "benchmark", "log_level": "WARNING"}, embedder_factory) as app:
        yield app


def indexed_vectors(service: SearchService) -> int:
    """How many vectors the process's loaded index holds (0 before the first load)."""
    index = service._index  # private: the benchmark checks what is really loaded
    return len(index.vectors) if index is not None else 0


def settle(service: SearchService) -> float:
    """Wait for the background work an index change started (the classifier's training,
    then its listeners: the assistant's calibration); the seconds it took."""
    seconds = timed(lambda: service.settle(SETTLE_TIMEOUT))
    if service._trainer._busy:  # private: settle() returns quietly on time-out
        raise RuntimeError(f"the background training still runs after {SETTLE_TIMEOUT} s")
    return seconds


def nearest_chunk(service: SearchService, vector: Vectors) -> int | None:
    """The chunk id the loaded dense index finds nearest to ``vector``."""
    index = service._index
    hits = index.vectors.search(vector, 1) if index is not None else []
    return hits[0][0] if hits else None


def indexed_chunk_ids(service: SearchService, article_id: int) -> list[int]:
    """The chunk ids the loaded index holds for one article."""
    index = service._index
    return list(index.by_article.get(article_id, [])) if index is not None else []


# --- timing -------------------------------------------------------------------------------


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action`` took."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def timed_runs(action: Callable[[], object], repeat: int, *, warm_up: int,
               after: Callable[[], object] = lambda: None) -> list[float]:
    """Seconds of each of ``repeat`` runs of ``action``, after ``warm_up`` untimed ones;
    ``after`` runs (untimed) after each timed run."""
    for _ in range(warm_up):
        action()
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
        after()
    return seconds


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linear interpolation."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# --- machine and results ------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else platform.processor() or "unknown CPU"


def machine_description() -> str:
    """Cores (as ``nproc`` counts them), CPU model, no GPU, Python and torch threads."""
    import torch

    cores = len(os.sched_getaffinity(0))
    return (f"{cores}-core {cpu_model()} (`nproc` = {cores}), no GPU; Python "
            f"{platform.python_version()}, torch {torch.__version__} with "
            f"{torch.get_num_threads()} threads")


def load_note() -> str:
    """The 1-minute load average: above ~0.5 something else was running."""
    load = os.getloadavg()[0]
    busy = " (another process was busy: timings may be noisy)" if load >= 0.5 else ""
    return f"load average at start {load:.2f}{busy}"


def command_line(module: str) -> str:
    """The exact command this run was started with, from the repository root."""
    return " ".join([".venv/bin/python", "-m", module, *sys.argv[1:]])


def header(module: str, load: str) -> str:
    """The date, machine and command lines every section starts with."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"- Date: {now}\n- Machine: {machine_description()}; {load}\n"
            f"- Command: `{command_line(module)}`\n")


def write_section(name: str, markdown: str, path: Path = RESULTS) -> None:
    """Replace the section between ``name``'s markers in RESULTS.md (appended when absent)."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + f"\n\n{block}\n"
    path.write_text(text, encoding="utf-8")


# --- BANKING77 texts and a synthetic knowledge base ---------------------------------------


@dataclass(frozen=True)
class Corpus:
    """BANKING77 train texts, grouped by category, with their vectors from the real model."""

    categories: list[str]
    texts: list[str]
    labels: npt.NDArray[np.int64]
    vectors: Vectors

    def of_category(self, category: int) -> npt.NDArray[np.int64]:
        return np.flatnonzero(self.labels == category)


def train_corpus(embedder: Embedder) -> Corpus:
    """Every train.csv text embedded once (about 90 s for 10k texts on 2 cores)."""
    grouped = texts_by_category(train_csv())
    categories = list(grouped)
    texts = [text for category in categories for text in grouped[category]]
    labels = np.asarray([n for n, category in enumerate(categories)
                         for _ in grouped[category]], dtype=np.int64)
    return Corpus(categories, texts, labels, embedder.encode(texts))


def perturbed(vectors: Vectors, rng: np.random.Generator) -> Vectors:
    """``vectors`` with a little Gaussian noise, back on the unit sphere."""
    noisy = vectors + rng.normal(0.0, PERTURBATION, vectors.shape).astype(np.float32)
    return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True)
class SyntheticArticle:
    content: ArticleContent
    body_texts: list[int]  # corpus rows the body is made of
    question_texts: list[int]


def synthetic_article(corpus: Corpus, number: int, questions: int,
                      rng: np.random.Generator) -> SyntheticArticle:
    """An article on one category: a body of 3 of its texts, ``questions`` others."""
    category = number % len(corpus.categories)
    rows = rng.choice(corpus.of_category(category), size=3 + questions, replace=False)
    body, asked = [int(r) for r in rows[:3]], [int(r) for r in rows[3:]]
    content = ArticleContent(
        title=f"{humanise(corpus.categories[category])} ({number})",
        body=" ".join(corpus.texts[r] for r in body), language="en",
        category=SYNTHETIC_CATEGORY, audience=Audience.PUBLIC,
        example_questions=list(dict.fromkeys(corpus.texts[r] for r in asked)))
    return SyntheticArticle(content, body, asked)


def synthetic_vectors(corpus: Corpus, article: SyntheticArticle, drafts: list[ChunkDraft],
                      rng: np.random.Generator) -> Vectors:
    """One vector per chunk: the body's texts averaged for each body chunk (a long body
    makes two), each question's own; perturbed."""
    body = corpus.vectors[article.body_texts].mean(axis=0, keepdims=True)
    body /= np.linalg.norm(body)
    body_chunks = sum(draft.kind is ChunkKind.CHUNK for draft in drafts)
    questions = corpus.vectors[article.question_texts]
    unique = len(drafts) - body_chunks  # duplicate questions were dropped
    return perturbed(np.vstack([np.repeat(body, body_chunks, axis=0), questions[:unique]]), rng)


def article_row(content: ArticleContent) -> Article:
    """A published article written straight to the database (no version, no event)."""
    return Article(
        external_id=None, title=content.title, body=content.body, body_html="",
        language=content.language, category=content.category, tags=[],
        audience=content.audience, status=ArticleStatus.PUBLISHED, current_version=1,
        questions=[ExampleQuestion(text=text, position=n)
                   for n, text in enumerate(content.example_questions)])


def add_synthetic_kb(app: Flask, corpus: Corpus, articles: int, chunks_per_article: int,
                     seed: int = 7) -> int:
    """Write ``articles`` published articles and their chunks (vectors given, not embedded)
    through the index store, as a rebuild would; returns the chunk count."""
    rng = np.random.default_rng(seed)
    made = [synthetic_article(corpus, n, chunks_per_article - 1, rng) for n in range(articles)]
    with app.app_context():
        session: Session = db.session
        rows = [article_row(a.content) for a in made]
        session.add_all(rows)
        session.flush()
        batches = [(row, drafts, synthetic_vectors(corpus, a, drafts, rng))
                   for row, a in zip(rows, made, strict=True)
                   for drafts in [chunk_article(a.content)]]
        replace_all(session, batches, search_service(app).model)
        session.commit()
        return sum(len(drafts) for _, drafts, _ in batches)


def article_ids(app: Flask) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Article.id).order_by(Article.id)))
