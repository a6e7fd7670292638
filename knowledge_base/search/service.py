"""A process's search service: answers queries, writes index changes, follows other writers.

The database is the source of truth (chunks, their vectors, the change log); each process
holds a ``SearchIndex`` built from it and replays the log when the index version moves,
checking at most every ``refresh_seconds``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from threadpoolctl import threadpool_limits

from helpdesk.errors import Unavailable
from knowledge_base.models import Article, ChunkKind
from knowledge_base.search import snapshot, store
from knowledge_base.search.chunking import ChunkDraft, chunk_article, embedding_text
from knowledge_base.search.classifier import MAX_ARTICLES, ArticleClassifier
from knowledge_base.search.embedder import Embedder, Vectors
from knowledge_base.search.engine import SearchFilters, SearchHit, SearchIndex, vector_matrix
from knowledge_base.search.lexical import BM25Index
from knowledge_base.search.vector_index import FaissIndex

log = logging.getLogger(__name__)
# Articles embedded per model call of a rebuild: large, because the model sorts a call's
# texts by length and pads within batches; small calls waste it (progress is per call).
REBUILD_BATCH = 1000


class IndexModelMismatch(Unavailable):
    """The stored vectors come from another embedding model than the configured one."""


class SearchService:
    def __init__(self, session_factory: sessionmaker[Session], snapshot_dir: Path,
                 embedder_factory: Callable[[], Embedder], model: str,
                 refresh_seconds: float) -> None:
        self._sessions = session_factory
        self._snapshot_dir = snapshot_dir
        self._embedder_factory = embedder_factory
        self.model = model
        self._refresh_seconds = refresh_seconds
        self._embedder: Embedder | None = None
        self._index: SearchIndex | None = None
        self._checked_at = float("-inf")
        self._lock = threading.RLock()
        self._trainer = ClassifierTrainer(self._install_classifier)

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use (it takes seconds)."""
        with self._lock:
            if self._embedder is None:
                self._embedder = self._embedder_factory()
            return self._embedder

    def search(self, text: str, filters: SearchFilters, limit: int) -> list[SearchHit]:
        """The best ``limit`` articles for ``text`` among those ``filters`` admit."""
        self.refresh(force=False)
        return self.search_vector(text, self.embedder.encode([text])[0], filters, limit)

    def search_vector(self, text: str, vector: Vectors, filters: SearchFilters,
                      limit: int) -> list[SearchHit]:
        """``search`` for a text already embedded."""
        return self.search_vectors([(text, filters)], vector.reshape(1, -1), limit)[0]

    def search_vectors(self, queries: Sequence[tuple[str, SearchFilters]], vectors: Vectors,
                       limit: int) -> list[list[SearchHit]]:
        """``search_vector`` for several (text, filters) and their rows of ``vectors`` at
        once (the assistant searches concurrent questions in batches)."""
        self.refresh(force=False)
        with self._lock:
            assert self._index is not None
            return self._index.search_many(queries, vectors, limit)

    def refresh(self, *, force: bool = True) -> int:
        """Catch up with the database's index version (checked at most every few seconds
        unless forced); returns the version now held."""
        with self._lock:
            if not force and time.monotonic() - self._checked_at < self._refresh_seconds:
                return self._index.version if self._index else 0
            self._checked_at = time.monotonic()
            with self._sessions() as session:
                version, model = store.index_state(session)
                self._check_model(model)
                if self._index is None:
                    self._index = self._load(session, version, model)
                elif version != self._index.version:
                    self._replay(session, version)
            return self._index.version

    def index_article(self, article_id: int) -> None:
        """Re-cut and re-embed one article after a change (only its metadata when its
        content is the version already indexed); archived articles leave the index."""
        with self._sessions() as session:
            article = session.get(Article, article_id)
            if article is None:
                return
            title, drafts, version_read = (article.title, self._drafts(session, article),
                                           article.current_version)
        vectors = self.embed(title, drafts) if drafts else None
        with self._sessions() as session, session.begin():
            self._check_model(store.index_state(session)[1])
            article = session.get(Article, article_id, with_for_update=True)
            if article is None or article.current_version != version_read:
                return  # a later save is being indexed by its own event
            store.replace_article(session, article, drafts, vectors, self.model)
        self.refresh()

    def rebuild(self, progress: Callable[[int], None] = lambda n: None) -> int:
        """Re-embed every article (``progress`` gets the count of each batch done) and swap
        the whole index at once; returns the number of chunks."""
        with self._sessions() as session:
            batches = list(self._embedded_batches(session, progress))
        with self._sessions() as session, session.begin():
            store.replace_all(session, batches, self.model)
        with self._lock:
            self._index = None
            self.refresh()
            self._save_snapshot()
        return sum(len(drafts) for _, drafts, _ in batches)

    def settle(self, timeout: float = 120) -> None:
        """Wait for the classifier being trained in the background, and the training
        listeners (tests, benchmarks)."""
        self._trainer.wait(timeout)

    def add_training_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` on the training thread once the classifier of the latest
        index state is installed (the assistant calibrates its confidence there); runs a
        training now when an index is already loaded, so the listener sees it too."""
        self._trainer.listeners.append(listener)
        with self._lock:
            if self._index is not None:
                self._trainer.schedule(self._index.questions)

    # --- writing ------------------------------------------------------------------------

    def _drafts(self, session: Session, article: Article) -> list[ChunkDraft] | None:
        """The chunks to store: none for an archived article, None to keep the stored ones."""
        if article.status not in store.INDEXED_STATUSES:
            return []
        if store.indexed_version(session, article.id) == article.current_version:
            return None  # same content: only the status or metadata moved
        return chunk_article(article.content)

    def embed(self, title: str, drafts: list[ChunkDraft]) -> Vectors:
        return self.embedder.encode([embedding_text(title, d) for d in drafts])

    def _embedded_batches(self, session: Session, progress: Callable[[int], None],
                          ) -> Iterator[tuple[Article, list[ChunkDraft], Vectors]]:
        query = (select(Article).where(Article.status.in_(store.INDEXED_STATUSES))
                 .order_by(Article.id))
        articles = list(session.scalars(query))
        for start in range(0, len(articles), REBUILD_BATCH):
            batch = articles[start:start + REBUILD_BATCH]
            drafts = [chunk_article(a.content) for a in batch]
            texts = [embedding_text(a.title, d) for a, ds in zip(batch, drafts, strict=True)
                     for d in ds]
            vectors = self.embedder.encode(texts)
            offset = 0
            for article, article_drafts in zip(batch, drafts, strict=True):
                yield article, article_drafts, vectors[offset:offset + len(article_drafts)]
                offset += len(article_drafts)
            progress(len(batch))

    def _check_model(self, model: str) -> None:
        if model and model != self.model:
            raise IndexModelMismatch(
                f"the search index holds vectors of {model!r} but COMPTOIR_EMBEDDING_MODEL is "
                f"{self.model!r}: run `comptoir kb reindex`")

    # --- reading ------------------------------------------------------------------------

    def _load(self, session: Session, version: int, model: str) -> SearchIndex:
        _blas_on_calling_threads()
        saved = snapshot.load(self._snapshot_dir)
        if saved and saved.model == model and saved.version <= version:
            changed, rebuilt = store.changed_articles(session, saved.version)
            if not rebuilt:
                return self._from_snapshot(session, saved, changed, version)
        index = self._from_database(session, version)
        self._index = index
        self._save_snapshot()
        return index

    def _from_database(self, session: Session, version: int) -> SearchIndex:
        rows = store.chunk_rows(session)
        vectors = FaissIndex.build([r.id for r in rows], vector_matrix(rows))
        index = SearchIndex(vectors, BM25Index(), version)
        index.add_rows(rows, None)
        self._trainer.schedule(index.questions)
        return index

    def _from_snapshot(self, session: Session, saved: snapshot.Snapshot, changed: set[int],
                       version: int) -> SearchIndex:
        rows = store.chunk_rows(session, vectors=False)
        article_of = {r.id: r.article_id for r in rows}
        stale = [int(i) for i in saved.ids
                 if int(i) not in article_of or article_of[int(i)] in changed]
        saved.index.remove(stale)
        index = SearchIndex(saved.index, BM25Index(), version)
        index.add_rows([r for r in rows if r.article_id not in changed], None)
        if len({r.article_id for r in rows}) <= MAX_ARTICLES:
            index.add_questions(store.chunk_rows(session, kind=ChunkKind.QUESTION))
        index.replace_articles(changed, store.chunk_rows(session, changed))
        self._trainer.schedule(index.questions)
        return index

    def _replay(self, session: Session, version: int) -> None:
        assert self._index is not None
        changed, rebuilt = store.changed_articles(session, self._index.version)
        if rebuilt:
            self._index = self._from_database(session, version)
            return
        self._index.replace_articles(changed, store.chunk_rows(session, changed))
        self._index.version = version
        self._trainer.schedule(self._index.questions)

    def _save_snapshot(self) -> None:
        index = self._index
        if index is None or not isinstance(index.vectors, FaissIndex) or not len(index.vectors):
            return
        ids = np.fromiter(index.chunks, dtype=np.int64, count=len(index.chunks))
        snapshot.save(self._snapshot_dir,
                      snapshot.Snapshot(index.version, self.model, ids, index.vectors))

    def _install_classifier(self, classifier: ArticleClassifier | None,
                            questions: dict[int, Vectors]) -> None:
        with self._lock:
            if self._index is not None and self._index.questions is questions:
                self._index.classifier = classifier


def _blas_on_calling_threads() -> None:
    """numpy's BLAS (process-wide) computes on the thread that calls it. A search's matrix
    products are small, and OpenBLAS's own threads, spinning between them, took the cores
    the model's and faiss's threads needed: without them the assistant answered 15% more
    questions a second at saturation, and one search took 3.8 ms instead of 9."""
    threadpool_limits(1, user_api="blas")


class ClassifierTrainer:
    """Trains the classifier on a background thread, one training at a time; a change
    during a training schedules one more, so the last state always gets a classifier."""

    def __init__(self, install: Callable[[ArticleClassifier | None, dict[int, Vectors]], None],
                 ) -> None:
        self._install = install
        self.listeners: list[Callable[[], None]] = []
        self._pending: dict[int, Vectors] | None = None
        self._condition = threading.Condition()
        self._busy = False

    def schedule(self, questions: dict[int, Vectors]) -> None:
        with self._condition:
            self._pending = questions
            if not self._busy:
                self._busy = True
                threading.Thread(target=self._run, name="kb-classifier", daemon=True).start()

    def wait(self, timeout: float) -> None:
        with self._condition:
            self._condition.wait_for(lambda: not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._condition:
                questions, self._pending = self._pending, None
                if questions is None:
                    self._busy = False
                    self._condition.notify_all()
                    return
            try:
                self._install(ArticleClassifier.train(dict(questions)), questions)
            except Exception:
                log.exception("training the knowledge-base classifier failed")
            self._notify_listeners()

    def _notify_listeners(self) -> None:
        """Only for the latest state: a newer one waiting will notify them itself."""
        with self._condition:
            if self._pending is not None:
                return
        for listener in self.listeners:
            try:
                listener()
            except Exception:
                log.exception("a search-index training listener failed")


