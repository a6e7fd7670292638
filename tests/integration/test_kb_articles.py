"""Article services on a real database: versions, restore, diff, the publication flow."""

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from helpdesk.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from helpdesk.events import Actor
from helpdesk.extensions import event_bus
from helpdesk.models import AuditLog, Role
from knowledge_base import articles
from knowledge_base.events import (
    ArticleArchived,
    ArticleEvent,
    ArticlePublished,
    ArticleSaved,
    ArticleUnpublished,
)
from knowledge_base.models import Article, ArticleContent, ArticleStatus, ArticleVersion

RETURNS = ArticleContent(title="Returns", body="Within **30** days.", language="en",
                         category="Orders", tags=["returns"],
                         example_questions=["Can I return my order?", "How do refunds work?"])


@pytest.fixture
def manager(make):
    return Actor("agent", make.user(Role.KNOWLEDGE_MANAGER).id)


@pytest.fixture
def published(app):
    """The article events published after each commit, in order."""
    seen = []
    with app.app_context():
        event_bus().subscribe(ArticleEvent, seen.append)
    return seen


def test_create_writes_version_one_and_sanitized_html(uow, manager, published):
    article = articles.create_article(uow, manager, replace(
        RETURNS, body="Within **30** days.\n\n<script>alert(1)</script>"))
    assert (article.status, article.current_version, article.author_id) == (
        ArticleStatus.DRAFT, 1, manager.id)
    assert article.body_html == "<p>Within <strong>30</strong> days.</p>\n"
    [version] = articles.list_versions(uow.session, article.id)
    assert (version.number, version.author_id) == (1, manager.id)
    assert version.content == article.content
    assert article.example_questions == RETURNS.example_questions
    assert published == [ArticleSaved(actor=manager, article_id=article.id, version=1,
                                      occurred_at=published[0].occurred_at)]


def test_every_change_is_a_new_version_and_an_unchanged_save_is_none(uow, manager):
    article = articles.create_article(uow, manager, RETURNS)
    articles.update_article(uow, manager, article.id, replace(RETURNS, title="Returns policy"))
    articles.update_article(uow, manager, article.id, replace(
        RETURNS, title=" Returns   policy ", example_questions=["Can I send it back?"]))
    articles.update_article(uow, manager, article.id, replace(
        RETURNS, title="Returns policy", example_questions=["Can I send it back?"]))
    versions = articles.list_versions(uow.session, article.id)
    assert [(v.number, v.title, v.example_questions) for v in versions] == [
        (3, "Returns policy", ["Can I send it back?"]),
        (2, "Returns policy", RETURNS.example_questions),
        (1, "Returns", RETURNS.example_questions)]
    assert article.current_version == 3
    assert article.example_questions == ["Can I send it back?"]


def test_restore_makes_an_old_version_current_as_a_new_version(uow, manager, published):
    article = articles.create_article(uow, manager, RETURNS)
    articles.update_article(uow, manager, article.id, replace(
        RETURNS, body="Within 60 days.", tags=["returns", "policy"], example_questions=[]))
    articles.restore_version(uow, manager, article.id, 1)
    assert article.current_version == 3
    assert article.content == RETURNS
    assert article.body_html == "<p>Within <strong>30</strong> days.</p>\n"
    assert published[-1].version == 3 and published[-1].restored_from == 1
    assert articles.diff_versions(uow.session, article.id, 1, 3) == []
    restored_again = articles.restore_version(uow, manager, article.id, 3)
    assert restored_again.current_version == 3  # already current: nothing to write


def test_diff_between_two_versions(uow, manager):
    article = articles.create_article(uow, manager, RETURNS)
    articles.update_article(uow, manager, article.id, replace(RETURNS, body="Within 60 days."))
    [diff] = articles.diff_versions(uow.session, article.id, 1, 2)
    assert diff.field == "body"
    assert diff.lines[-2:] == ["-Within **30** days.", "+Within 60 days."]


def test_unknown_articles_and_versions_are_not_found(uow, manager):
    article = articles.create_article(uow, manager, RETURNS)
    with pytest.raises(NotFound, match="article 999 does not exist"):
        articles.list_versions(uow.session, 999)
    with pytest.raises(NotFound, match=f"article {article.id} has no version 5") as caught:
        articles.restore_version(uow, manager, article.id, 5)
    assert caught.value.field == "number"
    with pytest.raises(NotFound, match="article 999 does not exist"):
        articles.diff_versions(uow.session, 999, 1, 2)


def test_publication_flow_records_events_and_audit(uow, manager, published):
    article = articles.create_article(uow, manager, RETURNS)
    articles.publish(uow, manager, article.id)
    assert article.status == ArticleStatus.PUBLISHED and article.published_at is not None
    with pytest.raises(InvalidTransition, match="already published"):
        articles.publish(uow, manager, article.id)
    articles.unpublish(uow, manager, article.id)
    articles.archive(uow, manager, article.id)
    articles.publish(uow, manager, article.id)
    assert [type(e) for e in published] == [ArticleSaved, ArticlePublished, ArticleUnpublished,
                                            ArticleArchived, ArticlePublished]
    assert {e.version for e in published} == {1}  # the state is not content: no new version
    audit = uow.session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert [(a.action, a.target_type, a.target_id, a.user_id) for a in audit[-5:]] == [
        (action, "article", article.id, manager.id) for action in (
            "article.saved", "article.published", "article.unpublished", "article.archived",
            "article.published")]


def test_invalid_content_is_refused_and_nothing_is_written(uow, manager):
    with pytest.raises(ValidationFailed) as caught:
        articles.create_article(uow, manager, replace(RETURNS, language="de"))
    assert caught.value.field == "language"
    uow.rollback()
    assert uow.session.scalar(select(func.count()).select_from(Article)) == 0
    assert uow.session.scalar(select(func.count()).select_from(ArticleVersion)) == 0


def test_an_external_id_is_unique(uow, manager):
    articles.create_article(uow, manager, RETURNS, external_id="ret-1")
    with pytest.raises(Conflict, match="an article with id 'ret-1' exists"):
        articles.create_article(uow, manager, RETURNS, external_id=" ret-1 ")

