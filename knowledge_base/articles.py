"""Articles: write, version, publish, restore, compare, and import by external id.

Every save that changes the content writes a whole new ``ArticleVersion``; a save
that changes nothing writes nothing. The publication state (draft, published,
archived) is not content: moving it creates no version.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from helpdesk.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from helpdesk.events import Actor
from helpdesk.orm import utcnow
from helpdesk.services.common import checked_enum, get_or_404
from helpdesk.uow import UnitOfWork
from knowledge_base.events import (
    ArticleArchived,
    ArticleEvent,
    ArticlePublished,
    ArticleSaved,
    ArticleUnpublished,
)
from knowledge_base.markdown import render_markdown
from knowledge_base.models import (
    CONTENT_FIELDS,
    Article,
    ArticleContent,
    ArticleStatus,
    ArticleVersion,
    Audience,
    ExampleQuestion,
)

MAX_TITLE = 200
MAX_BODY = 200_000
MAX_CATEGORY = 100
MAX_EXTERNAL_ID = 200
MAX_TAGS = 20
MAX_TAG = 50
MAX_QUESTIONS = 500
MAX_QUESTION = 500

_STATUS_EVENTS: dict[ArticleStatus, type[ArticleEvent]] = {
    ArticleStatus.PUBLISHED: ArticlePublished,
    ArticleStatus.DRAFT: ArticleUnpublished,
    ArticleStatus.ARCHIVED: ArticleArchived,
}


class ImportOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ArticleRecord:
    """One article as an import file describes it (values not checked yet)."""

    external_id: str | None
    content: ArticleContent
    status: str = ArticleStatus.DRAFT.value


@dataclass(frozen=True)
class FieldDiff:
    """The unified diff of one content field between two versions."""

    field: str
    lines: list[str]


# Writes


def create_article(uow: UnitOfWork, actor: Actor, content: ArticleContent, *,
                   external_id: str | None = None) -> Article:
    """Create a draft article and its version 1 (``external_id``: unique when given)."""
    external_id = _checked_external_id(external_id)
    if external_id and _by_external_id(uow.session, external_id):
        raise Conflict(f"an article with id {external_id!r} exists", field="external_id")
    article = _new_article(uow, actor, checked_content(content), external_id)
    uow.commit()
    return article


def update_article(uow: UnitOfWork, actor: Actor, article_id: int,
                   content: ArticleContent) -> Article:
    """Replace the content; a new version when anything changed, nothing otherwise."""
    article = get_or_404(uow.session, Article, article_id, lock=True)
    _save(uow, actor, article, checked_content(content))
    uow.commit()
    return article


def restore_version(uow: UnitOfWork, actor: Actor, article_id: int, number: int) -> Article:
    """Make version ``number``'s content current again, as a new version."""
    article = get_or_404(uow.session, Article, article_id, lock=True)
    old = get_version(uow.session, article_id, number)
    _save(uow, actor, article, checked_content(old.content), restored_from=number)
    uow.commit()
    return article


def publish(uow: UnitOfWork, actor: Actor, article_id: int) -> Article:
    """Show the article in the help centre and to the assistant."""
    return _change_status(uow, actor, article_id, ArticleStatus.PUBLISHED)


def unpublish(uow: UnitOfWork, actor: Actor, article_id: int) -> Article:
    """Back to draft, from published or archived."""
    return _change_status(uow, actor, article_id, ArticleStatus.DRAFT)


def archive(uow: UnitOfWork, actor: Actor, article_id: int) -> Article:
    """Retire the article; its history stays."""
    return _change_status(uow, actor, article_id, ArticleStatus.ARCHIVED)


def import_article(uow: UnitOfWork, actor: Actor, record: ArticleRecord) -> ImportOutcome:
    """Create the article, or update the one with the record's external id (one commit)."""
    content = checked_content(record.content)
    status = checked_enum(ArticleStatus, record.status, "status")
    external_id = _checked_external_id(record.external_id)
    known = _by_external_id(uow.session, external_id) if external_id else None
    if known is None:
        article = _new_article(uow, actor, content, external_id)
        outcome = ImportOutcome.CREATED
    else:
        article = get_or_404(uow.session, Article, known.id, lock=True)
        changed = _save(uow, actor, article, content)
        outcome = ImportOutcome.UPDATED if changed else ImportOutcome.UNCHANGED
    if article.status != status:
        _move(uow, actor, article, status)
        if outcome is ImportOutcome.UNCHANGED:
            outcome = ImportOutcome.UPDATED
    uow.commit()
    return outcome


def _new_article(uow: UnitOfWork, actor: Actor, content: ArticleContent,
                 external_id: str | None) -> Article:
    article = Article(external_id=external_id, author_id=_staff_id(actor), current_version=0,
                      status=ArticleStatus.DRAFT)
    uow.session.add(article)
    _write(uow, actor, article, content)
    return article


def _save(uow: UnitOfWork, actor: Actor, article: Article, content: ArticleContent, *,
          restored_from: int | None = None) -> bool:
    """Write ``content`` as a new version unless it is the current one; True if written."""
    if content == article.content:
        return False
    _write(uow, actor, article, content, restored_from=restored_from)
    return True


def _write(uow: UnitOfWork, actor: Actor, article: Article, content: ArticleContent, *,
           restored_from: int | None = None) -> None:
    _apply(article, content)
    article.current_version += 1
    article.updated_at = utcnow()
    uow.session.flush()
    uow.session.add(ArticleVersion(
        article_id=article.id, number=article.current_version, author_id=_staff_id(actor),
        **{name: getattr(content, name) for name in CONTENT_FIELDS}))
    uow.record(ArticleSaved(actor=actor, article_id=article.id,
                            version=article.current_version, restored_from=restored_from))


def _apply(article: Article, content: ArticleContent) -> None:
    article.title, article.body = content.title, content.body
    article.body_html = render_markdown(content.body)
    article.language, article.category = content.language, content.category
    article.tags, article.audience = content.tags, content.audience
    if article.example_questions != content.example_questions:
        article.questions = [ExampleQuestion(text=text, position=position)
                             for position, text in enumerate(content.example_questions)]


def _change_status(uow: UnitOfWork, actor: Actor, article_id: int,
                   status: ArticleStatus) -> Article:
    article = get_or_404(uow.session, Article, article_id, lock=True)
    _move(uow, actor, article, status)
    uow.commit()
    return article


def _move(uow: UnitOfWork, actor: Actor, article: Article, status: ArticleStatus) -> None:
    if article.status == status:
        raise InvalidTransition(f"article {article.id} is already {status.value}",
                                field="status")
    article.status = status
    if status == ArticleStatus.PUBLISHED:
        article.published_at = utcnow()
    uow.record(_STATUS_EVENTS[status](actor=actor, article_id=article.id,
                                      version=article.current_version))


def _staff_id(actor: Actor) -> int | None:
    return actor.id if actor.is_staff else None


# Reads


def get_version(session: Session, article_id: int, number: int) -> ArticleVersion:
    version = session.scalar(select(ArticleVersion).where(
        ArticleVersion.article_id == article_id, ArticleVersion.number == number))
    if version is None:
        get_or_404(session, Article, article_id)
        raise NotFound(f"article {article_id} has no version {number}", field="number")
    return version


def list_versions(session: Session, article_id: int) -> list[ArticleVersion]:
    """The article's versions, newest first."""
    get_or_404(session, Article, article_id)
    return list(session.scalars(select(ArticleVersion)
                                .where(ArticleVersion.article_id == article_id)
                                .order_by(ArticleVersion.number.desc())))


def diff_versions(session: Session, article_id: int, a: int, b: int) -> list[FieldDiff]:
    """What changed from version ``a`` to version ``b``, field by field."""
    old, new = get_version(session, article_id, a), get_version(session, article_id, b)
    return diff_contents(old.content, new.content, f"version {a}", f"version {b}")


def diff_contents(old: ArticleContent, new: ArticleContent, old_label: str,
                  new_label: str) -> list[FieldDiff]:
    """A unified diff (``difflib``) for each field that differs; lists diff item by item."""
    diffs = []
    for name in CONTENT_FIELDS:
        lines = list(difflib.unified_diff(
            _diff_lines(getattr(old, name)), _diff_lines(getattr(new, name)),
            fromfile=f"{old_label} {name}", tofile=f"{new_label} {name}", lineterm=""))
        if lines:
            diffs.append(FieldDiff(name, lines))
    return diffs


def _diff_lines(value: str | list[str]) -> list[str]:
    return list(value) if isinstance(value, list) else str(value).splitlines()


def all_articles(session: Session) -> list[Article]:
    """Every article with its example questions, oldest first (the export's order)."""
    return list(session.scalars(select(Article).options(selectinload(Article.questions))
                                .order_by(Article.id)))


def _by_external_id(session: Session, external_id: str) -> Article | None:
    return session.scalar(select(Article).where(Article.external_id == external_id))


# Validation


def checked_content(content: ArticleContent) -> ArticleContent:
    """The content normalised, against this app's languages; ValidationFailed names the field."""
    settings = current_app.config["COMPTOIR"]
    return normalised_content(content, settings.languages, settings.default_locale)


def normalised_content(content: ArticleContent, languages: Sequence[str],
                       default_language: str) -> ArticleContent:
    """Trimmed, deduplicated content (an empty language becomes ``default_language``), or
    ValidationFailed naming the first bad field."""
    return ArticleContent(
        title=_one_line(content.title, "title", MAX_TITLE, required=True),
        body=_body(content.body),
        language=_language(content.language, languages, default_language),
        category=_one_line(content.category, "category", MAX_CATEGORY),
        tags=[tag.lower() for tag in _text_list(content.tags, "tags", MAX_TAGS, MAX_TAG)],
        audience=checked_enum(Audience, content.audience, "audience"),
        example_questions=_text_list(content.example_questions, "example_questions",
                                     MAX_QUESTIONS, MAX_QUESTION),
    )


def _one_line(value: object, field: str, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be text", field=field)
    text = " ".join(value.split())
    if required and not text:
        raise ValidationFailed(f"{field} is required", field=field)
    if len(text) > limit:
        raise ValidationFailed(f"{field} is at most {limit} characters", field=field)
    return text


def _body(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationFailed("body must be text", field="body")
    # Trailing spaces inside are kept: in Markdown two of them end a line.
    text = value.replace("\r\n", "\n").replace("\r", "\n").rstrip().lstrip("\n")
    if len(text) > MAX_BODY:
        raise ValidationFailed(f"body is at most {MAX_BODY} characters", field="body")
    return text


def _language(value: object, languages: Sequence[str], default: str) -> str:
    language = _one_line(value, "language", 16) or default
    if language not in languages:
        raise ValidationFailed(f"language {language!r} is not one of {', '.join(languages)}",
                               field="language")
    return language


def _text_list(values: object, field: str, most: int, limit: int) -> list[str]:
    """One-line texts; of duplicates (ignoring case) the first is kept."""
    if not isinstance(values, list | tuple):
        raise ValidationFailed(f"{field} must be a list of texts", field=field)
    kept: dict[str, str] = {}
    for position, value in enumerate(values, start=1):
        text = " ".join(value.split()) if isinstance(value, str) else ""
        if not text:
            raise ValidationFailed(f"{field} item {position} must be a non-empty text",
                                   field=field)
        if len(text) > limit:
            raise ValidationFailed(f"{field} item {position} is longer than {limit} characters",
                                   field=field)
        kept.setdefault(text.casefold(), text)
    if len(kept) > most:
        raise ValidationFailed(f"{field} has {len(kept)} items; at most {most} are allowed",
                               field=field)
    return list(kept.values())


def _checked_external_id(value: str | None) -> str | None:
    if value is None:
        return None
    return _one_line(value, "external_id", MAX_EXTERNAL_ID) or None
