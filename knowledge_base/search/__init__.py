"""Hybrid search over the knowledge base: dense (sentence-transformers + faiss) and BM25.

``chunking`` cuts articles into indexed texts; ``embedder``, ``vector_index`` and
``lexical`` are the three seams (fakes in ``tests/fakes.py``); ``ranking`` fuses their
scores per article with the classifier's; ``service`` keeps each process's index in step
with the database. Entry points call ``search()`` and never touch the parts.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

from helpdesk.extensions import db
from knowledge_base.events import ArticleEvent
from knowledge_base.search.embedder import Embedder, SentenceTransformerEmbedder
from knowledge_base.search.engine import SearchFilters, SearchHit
from knowledge_base.search.service import IndexModelMismatch, SearchService

__all__ = ["IndexModelMismatch", "SearchFilters", "SearchHit", "init_app", "search",
           "search_service"]
EXTENSION = "comptoir.search"
SNAPSHOT_FOLDER = "search"


def init_app(app: Flask, embedder_factory: Callable[[], Embedder] | None = None) -> None:
    """Give ``app`` its search service and keep the index in step with article changes."""
    settings = app.config["COMPTOIR"]

    def make_embedder() -> Embedder:
        return SentenceTransformerEmbedder(settings.embedding_model)

    with app.app_context():
        session_factory = db.session_factory
    app.extensions[EXTENSION] = SearchService(
        session_factory, settings.instance_dir / SNAPSHOT_FOLDER,
        embedder_factory or make_embedder, settings.embedding_model,
        settings.search_refresh_seconds)
    app.extensions["comptoir.events"].subscribe(
        ArticleEvent, lambda event: app.extensions[EXTENSION].index_article(event.article_id))


def search_service(app: Flask | None = None) -> SearchService:
    return (app or current_app).extensions[EXTENSION]


def search(text: str, filters: SearchFilters, limit: int = 10) -> list[SearchHit]:
    """The best articles for ``text`` that ``filters`` admit, best first."""
    return search_service().search(text, filters, limit)
