"""“Was this helpful?”: what readers of the help centre say about an article.

A vote counts against the version they read. Not-helpful comments are, for now, the
knowledge managers' signal of unanswered questions (the assistant will add its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Text, case, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.events import Actor, DomainEvent
from helpdesk.orm import Base, utcnow
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork
from knowledge_base.models import Article, ArticleStatus, Audience

MAX_COMMENT = 2000


class ArticleFeedback(Base):
    """One reader's vote on one version of an article, with an optional comment."""

    __tablename__ = "article_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"),
                                            index=True)
    version: Mapped[int]
    helpful: Mapped[bool]
    comment: Mapped[str] = mapped_column(Text, default="")
    # Known only when the reader is an identified customer; anonymous votes keep it empty.
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    article: Mapped[Article] = relationship()


@dataclass(frozen=True, kw_only=True)
class ArticleFeedbackGiven(DomainEvent):
    """In the customer's timeline when the reader is a known customer."""

    timeline_type: ClassVar[str] = "article.feedback"

    article_id: int
    version: int
    helpful: bool
    title: str

    def payload(self) -> dict[str, Any]:
        return {"article_id": self.article_id, "version": self.version,
                "helpful": self.helpful, "title": self.title}


@dataclass(frozen=True)
class FeedbackCounts:
    """The votes one article received, all versions together."""

    article_id: int
    title: str
    helpful: int
    not_helpful: int


def record_feedback(uow: UnitOfWork, actor: Actor, article_id: int, *, helpful: bool,
                    comment: str = "", customer_id: int | None = None) -> ArticleFeedback:
    """Record a vote on a published public article (others do not exist for readers)."""
    article = readable_article(uow.session, article_id)
    feedback = ArticleFeedback(article_id=article.id, version=article.current_version,
                               helpful=helpful, comment=_checked_comment(comment),
                               customer_id=customer_id)
    uow.session.add(feedback)
    uow.record(ArticleFeedbackGiven(actor=actor, customer_id=customer_id,
                                    article_id=article.id, version=article.current_version,
                                    helpful=helpful, title=article.title))
    uow.commit()
    return feedback


def readable_article(session: Session, article_id: int) -> Article:
    """The article as the public sees it: published and public, or NotFound."""
    article = get_or_404(session, Article, article_id)
    if article.status != ArticleStatus.PUBLISHED or article.audience != Audience.PUBLIC:
        raise NotFound(f"article {article_id} does not exist", field="article_id")
    return article


def feedback_counts(session: Session) -> list[FeedbackCounts]:
    """Votes per article that has any, the most often unhelpful first."""
    not_helpful = func.sum(case((ArticleFeedback.helpful.is_(False), 1), else_=0))
    helpful = func.sum(case((ArticleFeedback.helpful.is_(True), 1), else_=0))
    rows = session.execute(
        select(Article.id, Article.title, helpful, not_helpful)
        .join(ArticleFeedback, ArticleFeedback.article_id == Article.id)
        .group_by(Article.id, Article.title)
        .order_by(not_helpful.desc(), Article.id))
    return [FeedbackCounts(*row) for row in rows]


def recent_comments(session: Session, *, helpful: bool | None = None,
                    limit: int = 50) -> list[ArticleFeedback]:
    """The newest votes that carry a comment (``helpful``: only that kind of vote)."""
    query = (select(ArticleFeedback).options(selectinload(ArticleFeedback.article))
             .where(ArticleFeedback.comment != ""))
    if helpful is not None:
        query = query.where(ArticleFeedback.helpful.is_(helpful))
    order = (ArticleFeedback.created_at.desc(), ArticleFeedback.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def _checked_comment(comment: str) -> str:
    text = comment.strip()
    if len(text) > MAX_COMMENT:
        raise ValidationFailed(f"comment is at most {MAX_COMMENT} characters", field="comment")
    return text
