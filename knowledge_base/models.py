"""Knowledge-base tables: articles, their versions and example questions, the search seam."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.models import User
from helpdesk.models.types import enum_type
from helpdesk.orm import Base, utcnow


class Audience(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"  # staff (and the assistant's staff-facing answers) only


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class ChunkKind(StrEnum):
    CHUNK = "chunk"  # a bounded piece of the body, under its heading
    QUESTION = "question"  # one example question


@dataclass(frozen=True)
class ArticleContent:
    """What a save writes and a version keeps: everything but the publication state."""

    title: str
    body: str = ""
    language: str = ""
    category: str = ""
    tags: list[str] = field(default_factory=list)
    audience: Audience = Audience.PUBLIC
    example_questions: list[str] = field(default_factory=list)


CONTENT_FIELDS = ("title", "body", "language", "category", "tags", "audience",
                  "example_questions")


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id the article has in the system it was imported from; re-imports match on it.
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitized, rendered on save
    language: Mapped[str] = mapped_column(String(16), index=True)
    category: Mapped[str] = mapped_column(String(100), default="", index=True)
    tags: Mapped[list[str]] = mapped_column(default=list)
    audience: Mapped[Audience] = mapped_column(enum_type(Audience), default=Audience.PUBLIC)
    status: Mapped[ArticleStatus] = mapped_column(enum_type(ArticleStatus),
                                                  default=ArticleStatus.DRAFT, index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    current_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]

    author: Mapped[User | None] = relationship()
    questions: Mapped[list[ExampleQuestion]] = relationship(
        order_by="ExampleQuestion.position", cascade="all, delete-orphan",
        passive_deletes=True)

    @property
    def example_questions(self) -> list[str]:
        return [q.text for q in self.questions]

    @property
    def content(self) -> ArticleContent:
        return ArticleContent(**{name: getattr(self, name) for name in CONTENT_FIELDS})


class ExampleQuestion(Base):
    """An alternative phrasing customers use for what the article answers."""

    __tablename__ = "example_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"),
                                            index=True)
    text: Mapped[str] = mapped_column(String(500))
    position: Mapped[int]


class ArticleVersion(Base):
    """The content of one save, kept whole: history, diff and restore read it."""

    __tablename__ = "article_versions"
    # Its index also serves the lookups by article.
    __table_args__ = (UniqueConstraint("article_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(100))
    tags: Mapped[list[str]]
    audience: Mapped[Audience] = mapped_column(enum_type(Audience))
    example_questions: Mapped[list[str]]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()

    @property
    def content(self) -> ArticleContent:
        return ArticleContent(**{name: getattr(self, name) for name in CONTENT_FIELDS})


class ArticleChunk(Base):
    """One indexed text of an article; its id is the vector's id in the dense index."""

    __tablename__ = "article_chunks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"),
                                            index=True)
    version: Mapped[int]
    position: Mapped[int]
    kind: Mapped[ChunkKind] = mapped_column(enum_type(ChunkKind))
    text: Mapped[str] = mapped_column(Text)
    heading: Mapped[str] = mapped_column(String(300), default="")
    # float32 row of the embedding model named in SearchIndexState.model; the database
    # holds the vectors so any process can rebuild its index without the model.
    vector: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class SearchIndexState(Base):
    """A single row; ``version`` moves on every index change so each process reloads."""

    __tablename__ = "search_index_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    model: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchIndexChange(Base):
    """One index change: the article whose chunks were replaced, or none for a rebuild.

    ``version`` is the index version the change produced; a process at version v
    replays the changes above v.
    """

    __tablename__ = "search_index_changes"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    article_id: Mapped[int | None]  # no foreign key: a deleted article's change still counts
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnansweredQuestion(Base):
    """A customer question the assistant escalated or could not answer, with its best
    search score: the knowledge managers' list of what to write next."""

    __tablename__ = "unanswered_questions"
    __table_args__ = (
        # Content gaps: a cluster's members, its label and examples first; the page's counts
        # read these indexes alone (SQLite scans the first, PostgreSQL ranges on the second).
        Index("ix_unanswered_questions_cluster_rank", "cluster_id", "central_rank",
              "created_at"),
        Index("ix_unanswered_questions_created_cluster", "created_at", "cluster_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16), default="")
    reason: Mapped[str] = mapped_column(String(32))
    best_score: Mapped[float | None]
    best_article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True)
    # The customer's message; deleting it (erasure, retention) deletes the question with it.
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Content gaps (knowledge_base/gaps): set by the clustering job, derived from ``text``.
    cluster_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_gap_clusters.id", ondelete="SET NULL"))
    vector: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # Its place in its cluster by cosine to the centroid: 1 is the most central (the label).
    central_rank: Mapped[int | None]


class GapStatus(StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"  # not worth an article (e.g. "can I talk to a person?")
    COVERED = "covered"  # an article answers it (``article_id``)


class ContentGapCluster(Base):
    """Unanswered questions of one language that mean the same thing (the clustering job
    keeps it); the knowledge managers' verdict on it survives new members."""

    __tablename__ = "content_gap_clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[GapStatus] = mapped_column(enum_type(GapStatus), default=GapStatus.OPEN,
                                              index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id",
                                                              ondelete="SET NULL"))
    # float32 sum of the members' vectors (its direction is the centroid) and their count
    # when it was summed: a count that no longer matches means members were deleted.
    centroid: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    article: Mapped[Article | None] = relationship()


class ContentGapState(Base):
    """A single row: the model and threshold the clusters were made with (a change
    reclusters everything); the clustering job locks it so one worker runs at a time."""

    __tablename__ = "content_gap_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(300), default="")
    threshold: Mapped[float | None]
    refreshed_at: Mapped[datetime | None]
