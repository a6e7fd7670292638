"""REST API for the content gaps: ranked clusters of escalated questions, the managers'
verdicts, a draft article from the agents' replies, and clustering on demand."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow.validate import OneOf

from helpdesk.api.common import ID, ApiBlueprint, capped_size, page_body, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import PageArgs, PageMeta, StrictSchema, enum, text
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.orm import utcnow
from knowledge_base.api import ArticleOut
from knowledge_base.gaps import refresh_now
from knowledge_base.gaps.drafting import draft_article
from knowledge_base.gaps.queries import Gap, GapFilter, GapSort, get_gap, list_gaps
from knowledge_base.gaps.service import set_status
from knowledge_base.models import Article, ArticleStatus, GapStatus
from knowledge_base.search import search_service

blp = ApiBlueprint("api_kb_gaps", __name__,
                   description="Content gaps: escalated questions clustered by meaning")
GAP = f"/kb/gaps/<{ID}:cluster_id>"
MANAGE = Permission.KNOWLEDGE_MANAGE
ANY = "any"
LIST_EXAMPLES = 3
DETAIL_EXAMPLES = 100


class GapQuery(PageArgs):
    status = fields.String(load_default=GapStatus.OPEN.value,
                           validate=OneOf([*GapStatus, ANY]), metadata={
                               "description": "open (default), dismissed, covered or any"})
    language = text(16)
    sort = enum(GapSort, load_default=GapSort.VOLUME, metadata={
        "description": "volume (most questions first, default) or growth (largest rise of "
                       "the last 7 days over the 7 before first)"})


class GapQuestionOut(Schema):
    id = fields.Integer()
    text = fields.String()
    language = fields.String()
    reason = fields.String(metadata={"description": "Why the assistant handed it over"})
    conversation_id = fields.Integer(allow_none=True)
    asked_at = fields.DateTime(attribute="created_at")


class GapArticleOut(Schema):
    id = fields.Integer()
    title = fields.String()
    status = enum(ArticleStatus)


class GapOut(Schema):
    id = fields.Integer(attribute="cluster.id")
    label = fields.String(metadata={"description": "Its most central question"})
    language = fields.String(attribute="cluster.language")
    status = enum(GapStatus, attribute="cluster.status")
    article = fields.Nested(GapArticleOut, attribute="cluster.article", allow_none=True,
                            metadata={"description": "The article covering it, if any"})
    questions = fields.Integer(metadata={"description": "Every question it holds"})
    last_7_days = fields.Integer()
    previous_7_days = fields.Integer(metadata={"description": "The 7 days before those"})
    growth = fields.Integer(metadata={"description": "last_7_days - previous_7_days"})
    last_asked_at = fields.DateTime()
    examples = fields.List(fields.Nested(GapQuestionOut), metadata={
        "description": "Its most central questions first"})


class GapPage(Schema):
    items = fields.List(fields.Nested(GapOut))
    meta = fields.Nested(PageMeta)


class GapStatusIn(StrictSchema):
    status = enum(GapStatus, required=True)
    article_id = fields.Integer(allow_none=True, load_default=None, metadata={
        "description": "The article covering it: required with covered, refused otherwise"})


class GapRefreshOut(Schema):
    clustered = fields.Integer(metadata={"description": "Questions placed by this run"})


@blp.route("/kb/gaps", methods=["GET"])
@blp.arguments(GapQuery, location="query")
@blp.response(200, GapPage)
@requires(MANAGE)
def list_content_gaps(args: dict[str, Any]) -> dict[str, Any]:
    """The clusters of escalated questions, ranked, each with its label and examples."""
    filters = GapFilter(status=None if args["status"] == ANY else GapStatus(args["status"]),
                        language=args.get("language"), sort=args["sort"])
    return page_body(list_gaps(db.session, filters, utcnow(), page=args["page"],
                               per_page=capped_size(args.get("per_page")),
                               examples=LIST_EXAMPLES))


@blp.route(GAP, methods=["GET"])
@blp.response(200, GapOut)
@requires(MANAGE)
def get_content_gap(cluster_id: int) -> Gap:
    """One cluster with its questions (the 100 most central)."""
    return get_gap(db.session, cluster_id, utcnow(), examples=DETAIL_EXAMPLES)


@blp.route(f"{GAP}/status", methods=["POST"])
@blp.arguments(GapStatusIn)
@blp.response(200, GapOut)
@requires(MANAGE)
def set_content_gap_status(data: dict[str, Any], cluster_id: int) -> Gap:
    """Dismiss the gap, reopen it, or mark it covered by an article."""
    with unit_of_work() as uow:
        set_status(uow, staff_actor(), cluster_id, data["status"], data["article_id"])
    return get_gap(db.session, cluster_id, utcnow(), examples=LIST_EXAMPLES)


@blp.route(f"{GAP}/draft", methods=["POST"])
@blp.response(201, ArticleOut)
@blp.alt_response(409, schema=ErrorSchema, description="No agent replied publicly in the "
                  "gap's conversations yet, or an article covers it already")
@requires(MANAGE)
def draft_content_gap_article(cluster_id: int) -> Article:
    """Create a draft article from the agents' replies in the gap's conversations (personal
    data replaced by placeholders); the gap is then covered by it."""
    with unit_of_work() as uow:
        article_id = draft_article(uow, staff_actor(), cluster_id,
                                   search_service().embedder).id
    return db.session.get(Article, article_id)


@blp.route("/kb/gaps/refresh", methods=["POST"])
@blp.response(200, GapRefreshOut)
@requires(MANAGE)
def refresh_content_gaps() -> dict[str, int]:
    """Cluster the questions escalated since the worker's last run, now."""
    return {"clustered": refresh_now()}
