"""REST API for the knowledge base: articles, their versions and publication, and search.

Every caller is staff, so internal articles are listed and searched too (the public help
centre never shows them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from marshmallow import Schema, fields
from marshmallow.validate import Length, Range

from helpdesk.api.common import ID, ApiBlueprint, capped_size, page_body, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import PageArgs, PageMeta, PatchSchema, StrictSchema, enum, text
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork
from knowledge_base import articles
from knowledge_base.models import Article, ArticleContent, ArticleStatus, Audience, ChunkKind
from knowledge_base.queries import ArticleFilter, list_articles, search_results
from knowledge_base.search import SearchFilters, search

blp = ApiBlueprint("api_kb", __name__, description="Knowledge-base articles and their search")
ARTICLE = f"/kb/articles/<{ID}:article_id>"
READ, MANAGE = Permission.KNOWLEDGE_READ, Permission.KNOWLEDGE_MANAGE
ALREADY_THERE = "The article already has that status"
EXTERNAL_ID_TAKEN = "Another article has this external id"
MAX_HITS = 50


# --- schemas ------------------------------------------------------------------------------

class ArticleFields(StrictSchema):
    title = text(articles.MAX_TITLE, min_length=1)
    body = text(articles.MAX_BODY)
    language = text(16, metadata={"description": "One of the configured languages; "
                                                 "defaults to default_locale"})
    category = text(articles.MAX_CATEGORY)
    tags = fields.List(text(articles.MAX_TAG, min_length=1),
                       validate=Length(max=articles.MAX_TAGS))
    audience = enum(Audience)
    example_questions = fields.List(text(articles.MAX_QUESTION, min_length=1),
                                    validate=Length(max=articles.MAX_QUESTIONS), metadata={
                                        "description": "How customers ask what it answers"})


class ArticleIn(ArticleFields):
    title = text(articles.MAX_TITLE, min_length=1, required=True)
    external_id = text(articles.MAX_EXTERNAL_ID, metadata={
        "description": "The article's id in the system it comes from; unique"})


class ArticlePatch(ArticleFields, PatchSchema):
    """The fields sent replace the current ones; the result is saved as a new version."""


class ArticleSummary(Schema):
    id = fields.Integer()
    external_id = fields.String(allow_none=True)
    title = fields.String()
    language = fields.String()
    category = fields.String()
    tags = fields.List(fields.String())
    audience = enum(Audience)
    status = enum(ArticleStatus)
    version = fields.Integer(attribute="current_version")
    updated_at = fields.DateTime()


class ArticleOut(ArticleSummary):
    body = fields.String()
    body_html = fields.String(metadata={"description": "The body rendered and sanitized"})
    example_questions = fields.List(fields.String())
    author_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)


class ArticleQuery(PageArgs):
    q = text(200, metadata={"description": "Words that must all appear in title or body"})
    status = enum(ArticleStatus)
    language = text(16)
    audience = enum(Audience)
    category = text(articles.MAX_CATEGORY)


class ArticlePage(Schema):
    items = fields.List(fields.Nested(ArticleSummary))
    meta = fields.Nested(PageMeta)


class SearchArgs(StrictSchema):
    q = text(500, min_length=1, required=True)
    lang = text(16, metadata={"description": "Only articles in this language"})
    limit = fields.Integer(load_default=10, validate=Range(1, MAX_HITS))
    audience = enum(Audience, metadata={"description": "Only this audience (default: both)"})
    status = enum(ArticleStatus, load_default=ArticleStatus.PUBLISHED, metadata={
        "description": "published (default) or draft; archived articles are not indexed"})
    category = text(articles.MAX_CATEGORY)


class SearchScores(Schema):
    dense = fields.Float(allow_none=True, metadata={
        "description": "Cosine of the nearest chunk or example question"})
    lexical = fields.Float(allow_none=True, metadata={"description": "BM25 of the best chunk"})
    classifier = fields.Float(allow_none=True, metadata={
        "description": "Log-probability from the model trained on the example questions"})


class MatchedChunk(Schema):
    id = fields.Integer()
    kind = enum(ChunkKind)
    heading = fields.String()
    text = fields.String()


class SearchHitOut(Schema):
    article_id = fields.Integer(attribute="hit.article_id")
    version = fields.Integer(attribute="hit.version", metadata={
        "description": "The article version the index holds (cite it with the id)"})
    title = fields.String(attribute="article.title")
    language = fields.String(attribute="article.language")
    category = fields.String(attribute="article.category")
    audience = enum(Audience, attribute="article.audience")
    status = enum(ArticleStatus, attribute="article.status")
    score = fields.Float(attribute="hit.score", metadata={
        "description": "Fused score; only its order is meaningful"})
    scores = fields.Nested(SearchScores, attribute="hit")
    chunk = fields.Nested(MatchedChunk, allow_none=True)


class SearchResults(Schema):
    items = fields.List(fields.Nested(SearchHitOut), metadata={"description": "Best first"})


class VersionOut(Schema):
    number = fields.Integer()
    title = fields.String()
    body = fields.String()
    language = fields.String()
    category = fields.String()
    tags = fields.List(fields.String())
    audience = enum(Audience)
    example_questions = fields.List(fields.String())
    author_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class VersionList(Schema):
    items = fields.List(fields.Nested(VersionOut), metadata={"description": "Newest first"})


# --- articles -----------------------------------------------------------------------------

@blp.route("/kb/articles", methods=["GET"])
@blp.arguments(ArticleQuery, location="query")
@blp.response(200, ArticlePage)
@requires(READ)
def list_kb_articles(args: dict[str, Any]) -> dict[str, Any]:
    """List articles, the most recently changed first, with optional filters."""
    filters = ArticleFilter(search=args.get("q"), status=args.get("status"),
                            language=args.get("language"), audience=args.get("audience"),
                            category=args.get("category"))
    return page_body(list_articles(db.session, filters, page=args["page"],
                                   per_page=capped_size(args.get("per_page"))))


@blp.route("/kb/articles", methods=["POST"])
@blp.arguments(ArticleIn)
@blp.response(201, ArticleOut)
@blp.alt_response(409, schema=ErrorSchema, description=EXTERNAL_ID_TAKEN)
@requires(MANAGE)
def create_kb_article(data: dict[str, Any]) -> Article:
    """Create a draft article (its version 1)."""
    external_id = data.pop("external_id", None)
    with unit_of_work() as uow:
        created = articles.create_article(uow, staff_actor(), ArticleContent(**data),
                                          external_id=external_id)
    return reload(Article, created.id)


@blp.route(ARTICLE, methods=["GET"])
@blp.response(200, ArticleOut)
@requires(READ)
def get_kb_article(article_id: int) -> Article:
    """One article, whatever its status or audience."""
    return get_or_404(db.session, Article, article_id)


@blp.route(ARTICLE, methods=["PATCH"])
@blp.arguments(ArticlePatch)
@blp.response(200, ArticleOut)
@requires(MANAGE)
def update_kb_article(data: dict[str, Any], article_id: int) -> Article:
    """Change some fields; a new version when anything changed, nothing otherwise."""
    with unit_of_work() as uow:
        # Locked: a concurrent save cannot slip between this read and the update.
        current = get_or_404(uow.session, Article, article_id, lock=True).content
        articles.update_article(uow, staff_actor(), article_id, replace(current, **data))
    return reload(Article, article_id)


@blp.route(f"{ARTICLE}/publish", methods=["POST"])
@blp.response(200, ArticleOut)
@blp.alt_response(409, schema=ErrorSchema, description=ALREADY_THERE)
@requires(MANAGE)
def publish_kb_article(article_id: int) -> Article:
    """Show the article in the help centre (if public) and to the assistant."""
    return _move(articles.publish, article_id)


@blp.route(f"{ARTICLE}/unpublish", methods=["POST"])
@blp.response(200, ArticleOut)
@blp.alt_response(409, schema=ErrorSchema, description=ALREADY_THERE)
@requires(MANAGE)
def unpublish_kb_article(article_id: int) -> Article:
    """Back to draft, from published or archived."""
    return _move(articles.unpublish, article_id)


@blp.route(f"{ARTICLE}/archive", methods=["POST"])
@blp.response(200, ArticleOut)
@blp.alt_response(409, schema=ErrorSchema, description=ALREADY_THERE)
@requires(MANAGE)
def archive_kb_article(article_id: int) -> Article:
    """Retire the article; its history stays."""
    return _move(articles.archive, article_id)


# --- versions -----------------------------------------------------------------------------

@blp.route(f"{ARTICLE}/versions", methods=["GET"])
@blp.response(200, VersionList)
@requires(READ)
def list_kb_versions(article_id: int) -> dict[str, Any]:
    """Every saved version of the article, newest first."""
    return {"items": articles.list_versions(db.session, article_id)}


@blp.route(f"{ARTICLE}/versions/<{ID}:number>/restore", methods=["POST"])
@blp.response(200, ArticleOut)
@requires(MANAGE)
def restore_kb_version(article_id: int, number: int) -> Article:
    """Make that version's content current again, saved as a new version."""
    with unit_of_work() as uow:
        articles.restore_version(uow, staff_actor(), article_id, number)
    return reload(Article, article_id)


# --- search -------------------------------------------------------------------------------

@blp.route("/kb/search", methods=["GET"])
@blp.arguments(SearchArgs, location="query")
@blp.response(200, SearchResults)
@blp.alt_response(503, schema=ErrorSchema, description="The search index needs a reindex")
@requires(READ)
def search_kb(args: dict[str, Any]) -> dict[str, Any]:
    """Hybrid search (dense vectors fused with BM25): ranked articles with the chunk that
    matched, internal ones included (every caller is staff)."""
    audience = args.get("audience")
    filters = SearchFilters(language=args.get("lang"), category=args.get("category"),
                            audiences=(audience,) if audience else tuple(Audience),
                            statuses=(args["status"],))
    hits = search(args["q"], filters, args["limit"])
    return {"items": search_results(db.session, hits)}


def _move(change: Callable[[UnitOfWork, Actor, int], Article], article_id: int) -> Article:
    with unit_of_work() as uow:
        change(uow, staff_actor(), article_id)
    return reload(Article, article_id)

