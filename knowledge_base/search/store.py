"""The search index's rows in the database: chunks with their vectors, and the change log.

Writers replace one article's chunks (or all of them) and log the change in the same
transaction, under a lock on the single ``SearchIndexState`` row, so versions never race.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, undefer

from helpdesk.orm import utcnow
from knowledge_base.models import (
    Article,
    ArticleChunk,
    ArticleStatus,
    Audience,
    ChunkKind,
    SearchIndexChange,
    SearchIndexState,
)
from knowledge_base.search.chunking import ChunkDraft
from knowledge_base.search.embedder import Vectors

STATE_ID = 1
INDEXED_STATUSES = (ArticleStatus.DRAFT, ArticleStatus.PUBLISHED)


@dataclass(frozen=True)
class ChunkRow:
    """An indexed chunk with what the filters need of its article."""

    id: int
    article_id: int
    version: int
    kind: ChunkKind
    text: str
    language: str
    audience: Audience
    status: ArticleStatus
    category: str
    vector: bytes | None = None
    heading: str = ""
    title: str = ""


def index_state(session: Session) -> tuple[int, str]:
    """The index version and the embedding model its vectors come from."""
    state = session.get(SearchIndexState, STATE_ID)
    return (state.version, state.model) if state else (0, "")


def changed_articles(session: Session, after: int) -> tuple[set[int], bool]:
    """Articles changed since version ``after``, and whether a full rebuild happened."""
    ids = list(session.scalars(select(SearchIndexChange.article_id)
                               .where(SearchIndexChange.version > after)))
    return {i for i in ids if i is not None}, None in ids


def chunk_rows(session: Session, article_ids: Iterable[int] | None = None, *,
               vectors: bool = True, kind: ChunkKind | None = None) -> list[ChunkRow]:
    """Every indexed chunk (or those of ``article_ids``, or of one kind), in id order."""
    query = (select(ArticleChunk, Article.title, Article.language, Article.audience,
                    Article.status, Article.category)
             .join(Article, Article.id == ArticleChunk.article_id)
             .order_by(ArticleChunk.id))
    if article_ids is not None:
        query = query.where(ArticleChunk.article_id.in_(list(article_ids)))
    if kind is not None:
        query = query.where(ArticleChunk.kind == kind)
    if vectors:
        query = query.options(undefer(ArticleChunk.vector))
    return [ChunkRow(chunk.id, chunk.article_id, chunk.version, chunk.kind, chunk.text,
                     language, audience, status, category, chunk.vector if vectors else None,
                     heading=chunk.heading, title=title)
            for chunk, title, language, audience, status, category in session.execute(query)]


def indexed_version(session: Session, article_id: int) -> int | None:
    """The article version its stored chunks were cut from (None: no chunks)."""
    return session.scalar(select(ArticleChunk.version)
                          .where(ArticleChunk.article_id == article_id).limit(1))


def replace_article(session: Session, article: Article, drafts: Sequence[ChunkDraft] | None,
                    vectors: Vectors | None, model: str) -> int:
    """Swap the article's chunks for ``drafts`` (None keeps them, [] drops them) and log it."""
    version = _next_version(session, model)
    if drafts is not None:
        session.execute(delete(ArticleChunk).where(ArticleChunk.article_id == article.id))
        session.add_all(_chunks(article, drafts, vectors))
    session.add(SearchIndexChange(version=version, article_id=article.id))
    return version


def replace_all(session: Session, batches: Iterable[tuple[Article, list[ChunkDraft], Vectors]],
                model: str) -> int:
    """Rebuild: every chunk replaced, one change logged that tells processes to reload."""
    version = _next_version(session, model)
    session.execute(delete(ArticleChunk))
    for article, drafts, vectors in batches:
        session.add_all(_chunks(article, drafts, vectors))
    session.add(SearchIndexChange(version=version, article_id=None))
    return version


def _next_version(session: Session, model: str) -> int:
    state = session.get(SearchIndexState, STATE_ID, with_for_update=True)
    if state is None:
        state = SearchIndexState(id=STATE_ID, version=0)
        session.add(state)
    state.version += 1
    state.model = model
    state.updated_at = utcnow()
    session.flush()
    return state.version


def _chunks(article: Article, drafts: Sequence[ChunkDraft],
            vectors: Vectors | None) -> list[ArticleChunk]:
    if not drafts:
        return []
    assert vectors is not None and len(vectors) == len(drafts)
    return [ArticleChunk(article_id=article.id, version=article.current_version,
                         position=d.position, kind=d.kind, text=d.text, heading=d.heading,
                         vector=np.asarray(v, dtype=np.float32).tobytes())
            for d, v in zip(drafts, vectors, strict=True)]
