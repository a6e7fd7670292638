"""The search index on a real database: incremental updates after each article change,
reload across processes (two apps on one database), snapshots and rebuilds.

The embedder is the fake (hashed words); tests/integration/test_kb_search_model.py runs
the real packaged model.
"""

from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import func, select

from helpdesk import create_app
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from knowledge_base import articles
from knowledge_base.models import (
    ArticleChunk,
    ArticleContent,
    ArticleStatus,
    Audience,
    SearchIndexChange,
)
from knowledge_base.search import IndexModelMismatch, SearchFilters, search_service
from knowledge_base.search.snapshot import FILE_NAME
from tests.fakes import FakeEmbedder

PARCEL = ArticleContent(title="Track a parcel", body="# Tracking\nUse code ZX-81 online.",
                        language="en", example_questions=["where is my parcel"])
REFUND = ArticleContent(title="Refunds", body="Money back within 14 days.", language="en",
                        example_questions=["can I get my money back"])
ANYONE = SearchFilters(audiences=tuple(Audience),
                       statuses=(ArticleStatus.PUBLISHED, ArticleStatus.DRAFT))


def write(app: Flask, content: ArticleContent, *, publish: bool = True) -> int:
    with app.app_context():
        with unit_of_work() as uow:
            article_id = articles.create_article(uow, SYSTEM, content).id
        if publish:
            with unit_of_work() as uow:
                articles.publish(uow, SYSTEM, article_id)
    return article_id


def change(app: Flask, service, article_id: int, **fields) -> None:
    with app.app_context(), unit_of_work() as uow:
        current = uow.session.get(articles.Article, article_id).content
        service(uow, SYSTEM, article_id, replace(current, **fields)) if fields else service(
            uow, SYSTEM, article_id)


def found(app: Flask, text: str, filters: SearchFilters = ANYONE) -> list[int]:
    with app.app_context():
        return [hit.article_id for hit in search_service(app).search(text, filters, 5)]


@pytest.fixture
def second_app(app: Flask) -> Iterator[Flask]:
    """Another process on the same database and instance folder, checking on every search."""
    settings = app.config["COMPTOIR"]
    other = create_app({"database_url": settings.database_url,
                        "instance_path": settings.instance_path, "secret_key": "test-secret",
                        "testing": True, "search_refresh_seconds": 0},
                       embedder_factory=FakeEmbedder)
    yield other
    with other.app_context():
        db.engine.dispose()


def test_a_published_article_is_found_by_its_words_and_its_questions(app):
    parcel = write(app, PARCEL)
    write(app, REFUND)
    assert found(app, "ZX-81")[0] == parcel
    assert found(app, "where is my parcel")[0] == parcel


def test_an_edit_replaces_only_that_articles_vectors(app):
    parcel, refund = write(app, PARCEL), write(app, REFUND)
    embedder = search_service(app).embedder
    embedder.calls.clear()
    change(app, articles.update_article, parcel, body="Use code QW-99 online.")
    assert embedder.calls == [["Track a parcel\nUse code QW-99 online.", "where is my parcel"]]
    assert found(app, "QW-99") == [parcel]
    assert parcel not in found(app, "ZX-81")
    assert found(app, "money back")[0] == refund


def test_publishing_keeps_the_vectors_and_archiving_drops_them(app):
    parcel = write(app, PARCEL, publish=False)
    assert found(app, "ZX-81", SearchFilters()) == []  # a draft is not public
    embedder = search_service(app).embedder
    embedder.calls.clear()
    change(app, articles.publish, parcel)
    assert embedder.calls == []  # same content: only the status moved
    assert found(app, "ZX-81", SearchFilters()) == [parcel]
    change(app, articles.archive, parcel)
    assert found(app, "ZX-81") == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ArticleChunk)) == 0


def test_internal_articles_are_found_only_when_asked_for(app):
    internal = write(app, replace(REFUND, audience=Audience.INTERNAL))
    assert found(app, "money back", SearchFilters()) == []
    assert found(app, "money back", ANYONE) == [internal]


def test_another_process_sees_each_change(app, second_app):
    parcel = write(app, PARCEL)
    assert found(second_app, "ZX-81") == [parcel]
    change(app, articles.update_article, parcel, body="Use code QW-99 online.")
    assert found(second_app, "QW-99") == [parcel]
    assert parcel not in found(second_app, "ZX-81")
    change(app, articles.archive, parcel)
    assert found(second_app, "QW-99") == []


def test_a_process_starts_from_the_snapshot_and_replays_later_changes(app, second_app):
    parcel = write(app, PARCEL)
    with app.app_context():
        search_service(app).rebuild()  # writes the snapshot
    assert (app.config["COMPTOIR"].instance_dir / "search" / FILE_NAME).is_file()
    change(app, articles.update_article, parcel, body="Use code QW-99 online.")
    refund = write(app, REFUND)
    assert found(second_app, "QW-99") == [parcel]
    assert parcel not in found(second_app, "ZX-81")
    assert found(second_app, "money back") == [refund]


def test_a_rebuild_reindexes_everything_and_every_process_reloads(app, second_app):
    parcel = write(app, PARCEL)
    write(app, REFUND, publish=False)
    assert found(second_app, "ZX-81") == [parcel]
    with app.app_context():
        chunks = search_service(app).rebuild()
        changes = db.session.scalars(select(SearchIndexChange.article_id)).all()
    assert chunks == 4  # two body chunks, two questions
    assert changes[-1] is None  # the rebuild marker
    assert found(second_app, "ZX-81") == [parcel]


def test_search_refuses_vectors_of_another_model(app):
    write(app, PARCEL)
    settings = app.config["COMPTOIR"]
    other = create_app({"database_url": settings.database_url,
                        "instance_path": settings.instance_path, "secret_key": "test-secret",
                        "testing": True, "embedding_model": "/models/multilingual"},
                       embedder_factory=FakeEmbedder)
    with other.app_context(), pytest.raises(IndexModelMismatch, match="comptoir kb reindex"):
        search_service(other).search("parcel", SearchFilters(), 5)
    with other.app_context():
        db.engine.dispose()


def test_reindex_command_reports_what_it_indexed(app, runner):
    write(app, PARCEL)
    write(app, REFUND)
    result = runner.invoke(args=["kb", "reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed 2 articles as 4 chunks with all-MiniLM-L6-v2" in result.output
