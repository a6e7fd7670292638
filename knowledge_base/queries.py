"""Read-side queries over articles for the knowledge managers' UI, the API and the help centre."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, load_only

from helpdesk.services.queries import Page, paginate
from knowledge_base.models import (
    Article,
    ArticleChunk,
    ArticleStatus,
    Audience,
    UnansweredQuestion,
)
from knowledge_base.search import SearchHit

MAX_SEARCH_WORDS = 8
Row = TypeVar("Row", Article, ArticleChunk)


@dataclass(frozen=True)
class ArticleFilter:
    """Every filter is optional; ``search`` keeps articles holding all its words."""

    search: str | None = None
    status: ArticleStatus | None = None
    language: str | None = None
    audience: Audience | None = None
    category: str | None = None


def list_articles(session: Session, filters: ArticleFilter, *, page: int = 1,
                  per_page: int = 25) -> Page[Article]:
    """Articles matching ``filters``, the most recently changed first."""
    query = select(Article).where(*_conditions(filters))
    return paginate(session, query.order_by(Article.updated_at.desc(), Article.id.desc()),
                    page, per_page)


def categories(session: Session) -> list[str]:
    """Every category in use, alphabetically."""
    return list(session.scalars(select(Article.category).distinct()
                                .where(Article.category != "").order_by(Article.category)))


def help_centre_articles(session: Session, language: str) -> list[Article]:
    """The published public articles in ``language``, by category then title (no bodies)."""
    query = select(Article).where(
        Article.status == ArticleStatus.PUBLISHED, Article.audience == Audience.PUBLIC,
        Article.language == language,
    ).options(load_only(Article.id, Article.title, Article.category, Article.language))
    return list(session.scalars(query.order_by(Article.category, Article.title)))


@dataclass(frozen=True)
class SearchResult:
    """A search hit with its article and the chunk that matched best."""

    hit: SearchHit
    article: Article
    chunk: ArticleChunk | None


def search_results(session: Session, hits: Sequence[SearchHit]) -> list[SearchResult]:
    """The hits' articles and chunks, in hit order (an article deleted since is skipped)."""
    articles = _by_id(session, Article, [h.article_id for h in hits])
    chunks = _by_id(session, ArticleChunk, [h.chunk_id for h in hits])
    return [SearchResult(hit, articles[hit.article_id], chunks.get(hit.chunk_id))
            for hit in hits if hit.article_id in articles]


def _by_id(session: Session, model: type[Row], ids: list[int]) -> dict[int, Row]:
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}


def unanswered_questions(session: Session, *, limit: int) -> list[UnansweredQuestion]:
    """The assistant's latest escalated questions, newest first."""
    return list(session.scalars(select(UnansweredQuestion)
                                .order_by(UnansweredQuestion.id.desc()).limit(limit)))


def _conditions(filters: ArticleFilter) -> list[ColumnElement[bool]]:
    conditions = _word_matches(filters.search or "")
    for column, value in ((Article.status, filters.status),
                          (Article.language, filters.language),
                          (Article.audience, filters.audience),
                          (Article.category, filters.category)):
        if value:
            conditions.append(column == value)
    return conditions


def _word_matches(text: str) -> list[ColumnElement[bool]]:
    """One condition per word (case-insensitive, wildcards taken literally)."""
    words = text.lower().split()[:MAX_SEARCH_WORDS]
    return [or_(func.lower(Article.title).contains(word, autoescape=True),
                func.lower(Article.body).contains(word, autoescape=True))
            for word in words]
