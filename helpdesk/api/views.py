"""Saved views: named inbox filters, yours or shared, and the conversations they show."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields

from helpdesk.api.common import ID, ApiBlueprint, capped_size, page_body, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import (
    MAX_ID,
    ConversationPage,
    PageArgs,
    PatchSchema,
    StrictSchema,
    enum,
    flag,
    id_field,
    text,
)
from helpdesk.auth.guard import current_principal, requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Channel, ConversationStatus, Priority, SavedView
from helpdesk.services import saved_views
from helpdesk.services.queries import Sort
from helpdesk.services.saved_views import ME, UNASSIGNED, ViewFilters

blp = ApiBlueprint("api_views", __name__, description="Saved views (named inbox filters)")
VIEW = f"/views/<{ID}:view_id>"
READ = Permission.CONVERSATIONS_READ
NAME_TAKEN = "Another view in the same scope has this name"


class Assignee(fields.Field):
    """``"me"`` (whoever looks at the view), ``"unassigned"`` or a user id."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value in (ME, UNASSIGNED):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
            return value
        raise ValidationError('not "me", "unassigned" or a user id')


class ViewFiltersIn(StrictSchema):
    statuses = fields.List(enum(ConversationStatus), metadata={
        "description": "Any of these; none: any status"})
    queue_id = id_field(allow_none=True)
    assignee = Assignee(allow_none=True, metadata={
        "description": '"me" (whoever looks), "unassigned" or a user id; null: anyone'})
    tag = text(64, allow_none=True)
    channel = enum(Channel, allow_none=True)
    priority = enum(Priority, allow_none=True)
    q = text(200, allow_none=True, metadata={"description": "Full-text search"})
    sort = enum(Sort, allow_none=True, metadata={
        "description": "Default: relevance when q is set, else priority"})
    segment_id = id_field(allow_none=True, metadata={
        "description": "Only the conversations of this segment's customers: a shared "
                       "segment, or for a personal view one of yours"})


class ViewFiltersOut(Schema):
    statuses = fields.List(fields.String())
    queue_id = fields.Integer()
    assignee = fields.Raw(metadata={"description": '"me", "unassigned" or a user id'})
    tag = fields.String()
    channel = fields.String()
    priority = fields.String()
    q = fields.String()
    sort = fields.String()
    segment_id = fields.Integer()


class ViewFields(StrictSchema):
    name = text(100, min_length=1)
    filters = fields.Nested(ViewFiltersIn, metadata={"description": "Replaces the old set"})
    shared = flag(metadata={"description": "For every agent: needs views:manage"})


class ViewIn(ViewFields):
    name = text(100, min_length=1, required=True)
    filters = fields.Nested(ViewFiltersIn, load_default=dict)
    shared = flag(load_default=False, metadata={
        "description": "For every agent (needs views:manage); default: yours alone"})


class ViewPatch(ViewFields, PatchSchema):
    pass


class ViewOut(Schema):
    id = fields.Integer()
    name = fields.String()
    shared = fields.Boolean()
    owner_id = fields.Integer(allow_none=True, metadata={"description": "null when shared"})
    filters = fields.Nested(ViewFiltersOut, metadata={"description": "Only the filters it sets"})
    count = fields.Function(lambda view: saved_views.count_view(
        db.session, view, staff_actor().id), metadata={
            "description": "How many conversations it shows you now"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ViewList(Schema):
    items = fields.List(fields.Nested(ViewOut))


@blp.route("/views", methods=["GET"])
@blp.response(200, ViewList)
@requires(READ)
def list_views() -> dict[str, Any]:
    """The shared views, then yours, each by name, with their counts."""
    return {"items": saved_views.visible_views(db.session, staff_actor().id)}


@blp.route("/views", methods=["POST"])
@blp.arguments(ViewIn)
@blp.response(201, ViewOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_TAKEN)
@requires(READ)
def create_view(data: dict[str, Any]) -> SavedView:
    """Save a view: yours, or shared (``shared``: true, with ``views:manage``)."""
    data["filters"] = ViewFilters(**data["filters"])
    with unit_of_work() as uow:
        created = saved_views.create_view(uow, staff_actor(), may_share=_may_share(), **data)
    return reload(SavedView, created.id)


@blp.route(VIEW, methods=["GET"])
@blp.response(200, ViewOut)
@requires(READ)
def get_view(view_id: int) -> SavedView:
    """One shared view or one of yours."""
    return saved_views.visible_view(db.session, staff_actor().id, view_id)


@blp.route(VIEW, methods=["PATCH"])
@blp.arguments(ViewPatch)
@blp.response(200, ViewOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_TAKEN)
@requires(READ)
def update_view(data: dict[str, Any], view_id: int) -> SavedView:
    """Rename one of your views or a shared one (with ``views:manage``), replace its
    filters, share it or take it back (both with ``views:manage``)."""
    if "filters" in data:
        data["filters"] = ViewFilters(**data["filters"])
    with unit_of_work() as uow:
        saved_views.update_view(uow, staff_actor(), view_id, may_share=_may_share(), **data)
    return reload(SavedView, view_id)


@blp.route(VIEW, methods=["DELETE"])
@blp.response(204)
@requires(READ)
def delete_view(view_id: int) -> None:
    """Delete one of your views, or a shared one (with ``views:manage``)."""
    with unit_of_work() as uow:
        saved_views.delete_view(uow, staff_actor(), view_id, may_share=_may_share())


@blp.route(f"{VIEW}/conversations", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, ConversationPage)
@requires(READ)
def view_conversations(args: dict[str, Any], view_id: int) -> dict[str, Any]:
    """The conversations the view shows you, in its order."""
    view = saved_views.visible_view(db.session, staff_actor().id, view_id)
    return page_body(saved_views.list_view(db.session, view, staff_actor().id,
                                           page=args["page"],
                                           per_page=capped_size(args.get("per_page"))))


def _may_share() -> bool:
    principal = current_principal()
    return principal is not None and principal.can(Permission.VIEWS_MANAGE)
