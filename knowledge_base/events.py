"""Article events: audited staff actions; after commit, search keeps its index in step.
And the knowledge managers' audited verdicts on content gaps.

Subscribing to ``ArticleEvent`` catches every change to an article's indexable state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from helpdesk.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ArticleEvent(DomainEvent):
    """Base of the article events; ``version`` is the article's version after the change."""

    audited = True
    action: ClassVar[str] = "article.changed"
    target_type: ClassVar[str] = "article"

    article_id: int
    version: int

    @property
    def target_id(self) -> int:
        return self.article_id

    def payload(self) -> dict[str, Any]:
        return {"version": self.version}


@dataclass(frozen=True, kw_only=True)
class ArticleSaved(ArticleEvent):
    """New content: a created, edited, imported or restored article (a new version)."""

    action = "article.saved"
    restored_from: int | None = None

    def payload(self) -> dict[str, Any]:
        restored = {"restored_from": self.restored_from} if self.restored_from else {}
        return super().payload() | restored


@dataclass(frozen=True, kw_only=True)
class ArticlePublished(ArticleEvent):
    action = "article.published"


@dataclass(frozen=True, kw_only=True)
class ArticleUnpublished(ArticleEvent):
    """Back to draft, from published or archived."""

    action = "article.unpublished"


@dataclass(frozen=True, kw_only=True)
class ArticleArchived(ArticleEvent):
    action = "article.archived"


@dataclass(frozen=True, kw_only=True)
class ContentGapChanged(DomainEvent):
    """A knowledge manager's verdict on a content gap: open, dismissed, or covered by an
    article."""

    audited = True
    action: ClassVar[str] = "content_gap.changed"
    target_type: ClassVar[str] = "content_gap"

    cluster_id: int
    status: str
    article_id: int | None = None

    @property
    def target_id(self) -> int:
        return self.cluster_id

    def payload(self) -> dict[str, Any]:
        return {"status": self.status, "article_id": self.article_id}
