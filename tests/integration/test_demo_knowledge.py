"""The demo's help-centre articles import cleanly, publish, and re-import by id."""

import re
from collections import Counter
from html import escape

import pytest
from sqlalchemy import func, select

from helpdesk.demo.knowledge import KNOWLEDGE_FOLDER, load_demo_articles
from helpdesk.extensions import db, unit_of_work
from knowledge_base import articles
from knowledge_base.articles import ImportOutcome
from knowledge_base.importer import read_markdown_folder
from knowledge_base.models import Article, ArticleStatus, ArticleVersion, Audience
from knowledge_base.search import SearchFilters, search_service

# (language, audience) -> how many articles the demo's help centre has.
EXPECTED = {("en", Audience.PUBLIC): 10, ("fr", Audience.PUBLIC): 6,
            ("en", Audience.INTERNAL): 1, ("fr", Audience.INTERNAL): 1}
TOTAL = sum(EXPECTED.values())
RAW_HTML = re.compile(r"</?[A-Za-z][^>]*>")


@pytest.fixture
def loaded(app):
    """The demo's articles, imported once; yields the import summary in an app context."""
    with app.app_context():
        summary = load_demo_articles(unit_of_work)
        yield summary


def test_folder_imports_every_article_without_rejection(loaded):
    assert loaded.rejected == []
    assert loaded.counts == Counter({ImportOutcome.CREATED: TOTAL})
    stored = articles.all_articles(db.session)
    assert Counter((a.language, a.audience) for a in stored) == EXPECTED
    assert all(a.external_id.startswith("demo-") for a in stored)
    assert len({a.category for a in stored if a.language == "en"}) in (4, 5)


def test_every_article_is_published_with_questions_and_headings(loaded):
    for article in articles.all_articles(db.session):
        assert article.status is ArticleStatus.PUBLISHED, article.external_id
        assert 4 <= len(article.example_questions) <= 8, article.external_id
        words = [word for word in article.body.split() if any(c.isalnum() for c in word)]
        assert 80 <= len(words) <= 250, article.external_id
        assert "\n## " in f"\n{article.body}", article.external_id
        assert not RAW_HTML.search(article.body), article.external_id


def test_loading_again_updates_instead_of_duplicating(loaded):
    versions = db.session.scalar(select(func.count()).select_from(ArticleVersion))
    again = load_demo_articles(unit_of_work)
    assert again.rejected == []
    assert again.counts == Counter({ImportOutcome.UNCHANGED: TOTAL})
    assert db.session.scalar(select(func.count()).select_from(Article)) == TOTAL
    assert db.session.scalar(select(func.count()).select_from(ArticleVersion)) == versions


def test_an_edited_article_is_updated_in_place_on_reload(app, tmp_path, monkeypatch):
    with app.app_context():
        load_demo_articles(unit_of_work)
        edited = tmp_path / "knowledge"
        edited.mkdir()
        for source in KNOWLEDGE_FOLDER.glob("*.md"):
            text = source.read_text(encoding="utf-8")
            (edited / source.name).write_text(text.replace("30 days", "45 days"),
                                              encoding="utf-8")
        monkeypatch.setattr("helpdesk.demo.knowledge.KNOWLEDGE_FOLDER", edited)
        summary = load_demo_articles(unit_of_work)
        assert summary.counts[ImportOutcome.UPDATED] >= 1
        assert summary.counts[ImportOutcome.CREATED] == 0
        policy = db.session.scalar(select(Article)
                                   .where(Article.external_id == "demo-returns-policy"))
        assert "45 days" in policy.body and policy.current_version == 2
        assert db.session.scalar(select(func.count()).select_from(Article)) == TOTAL


def test_help_centre_lists_public_articles_by_language(app, client):
    with app.app_context():
        load_demo_articles(unit_of_work)
    entries = {e.record.external_id: e.record.content for e in
               read_markdown_folder(KNOWLEDGE_FOLDER)}
    for language in ("en", "fr"):
        page = client.get(f"/help/{language}/").get_data(as_text=True)
        for content in entries.values():
            shown = escape(content.title, quote=False) in page
            assert shown == (content.language == language
                             and content.audience == Audience.PUBLIC.value), content.title


def test_articles_are_indexed_for_search_in_their_language(loaded, app):
    service = search_service(app)
    service.settle()  # the classifier trains in the background and changes the ranking
    stored = {a.id: a for a in articles.all_articles(db.session)}
    for question, language, expected in (
            ("Quelle ampoule de rechange pour la lampe Perle ?", "fr", "demo-quelle-ampoule"),
            ("My lamp arrived broken", "en", "demo-damaged-parcel")):
        hits = service.search(question, SearchFilters(language=language), 3)
        assert hits and stored[hits[0].article_id].external_id == expected, question
        assert {stored[hit.article_id].language for hit in hits} == {language}


def test_demo_load_command_reports_the_articles_once(runner):
    first = runner.invoke(args=["demo", "load", "--once"])
    assert first.exit_code == 0, first.output
    assert f"Loaded {TOTAL} help-centre articles." in first.output.splitlines()
    again = runner.invoke(args=["demo", "load", "--once"])
    assert again.exit_code == 0, again.output
    assert "help-centre articles" not in again.output
