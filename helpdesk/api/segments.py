"""Customer segments: saved filters over customers' attributes and behaviour, yours or
shared, their member counts and members (see docs/segments.md for the conditions)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from helpdesk.api.common import ID, ApiBlueprint, capped_size, page_body, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import (
    CustomerPage,
    PageArgs,
    PatchSchema,
    StrictSchema,
    flag,
    text,
)
from helpdesk.auth.guard import current_principal, requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Segment
from helpdesk.services import queries, segments

blp = ApiBlueprint("api_segments", __name__, description="Customer segments")
SEGMENT = f"/segments/<{ID}:segment_id>"
READ = Permission.CUSTOMERS_READ
CONDITIONS = ('{"all": [...]} or {"any": [...]} of conditions {"field", "op", "value"} '
              '(with "key" or "days" for some fields) and nested groups; see docs/segments.md')


class SegmentFields(StrictSchema):
    name = text(100, min_length=1)
    description = text(segments.MAX_DESCRIPTION)
    conditions = fields.Dict(metadata={"description": CONDITIONS})


class SegmentIn(SegmentFields):
    name = text(100, min_length=1, required=True)
    conditions = fields.Dict(required=True, metadata={"description": CONDITIONS})
    shared = flag(load_default=False, metadata={
        "description": "For everyone (needs segments:manage); default: yours alone"})


class SegmentPatch(SegmentFields, PatchSchema):
    pass


class PreviewIn(StrictSchema):
    conditions = fields.Dict(required=True, metadata={"description": CONDITIONS})


class CountOut(Schema):
    count = fields.Integer(metadata={"description": "How many customers match now"})


class SegmentOut(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    shared = fields.Boolean()
    owner_id = fields.Integer(allow_none=True, metadata={"description": "null when shared"})
    conditions = fields.Dict()
    count = fields.Function(lambda segment: segments.count_members(db.session, segment),
                            metadata={"type": "integer",
                                      "description": "How many customers it holds now"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class SegmentList(Schema):
    items = fields.List(fields.Nested(SegmentOut))


@blp.route("/segments", methods=["GET"])
@blp.response(200, SegmentList)
@requires(READ)
def list_segments() -> dict[str, Any]:
    """The shared segments, then yours, each by name, with their member counts."""
    return {"items": segments.visible_segments(db.session, staff_actor().id)}


@blp.route("/segments", methods=["POST"])
@blp.arguments(SegmentIn)
@blp.response(201, SegmentOut)
@blp.alt_response(409, schema=ErrorSchema, description="Another segment in the same scope "
                  "has this name")
@requires(READ)
def create_segment(data: dict[str, Any]) -> Segment:
    """Save a segment: yours, or shared (``shared``: true, with ``segments:manage``).
    Conditions that do not parse are refused (422), naming the bad part."""
    with unit_of_work() as uow:
        created = segments.create_segment(uow, staff_actor(), may_share=_may_share(), **data)
    return reload(Segment, created.id)


@blp.route("/segments/preview", methods=["POST"])
@blp.arguments(PreviewIn)
@blp.response(200, CountOut)
@requires(READ)
def preview(data: dict[str, Any]) -> dict[str, int]:
    """How many customers conditions match now, without saving them."""
    return {"count": segments.count_matching(db.session, segments.parse(data["conditions"]))}


@blp.route(SEGMENT, methods=["GET"])
@blp.response(200, SegmentOut)
@requires(READ)
def get_segment(segment_id: int) -> Segment:
    """One shared segment or one of yours."""
    return segments.visible_segment(db.session, staff_actor().id, segment_id)


@blp.route(SEGMENT, methods=["PATCH"])
@blp.arguments(SegmentPatch)
@blp.response(200, SegmentOut)
@blp.alt_response(409, schema=ErrorSchema, description="Another segment in the same scope "
                  "has this name")
@requires(READ)
def update_segment(data: dict[str, Any], segment_id: int) -> Segment:
    """Rename, describe or change the conditions of one of your segments, or of a shared
    one (with ``segments:manage``)."""
    with unit_of_work() as uow:
        segments.update_segment(uow, staff_actor(), segment_id, may_share=_may_share(), **data)
    return reload(Segment, segment_id)


@blp.route(SEGMENT, methods=["DELETE"])
@blp.response(204)
@blp.alt_response(409, schema=ErrorSchema, description="Saved views filter by it")
@requires(READ)
def delete_segment(segment_id: int) -> None:
    """Delete one of your segments, or a shared one (with ``segments:manage``)."""
    with unit_of_work() as uow:
        segments.delete_segment(uow, staff_actor(), segment_id, may_share=_may_share())


@blp.route(f"{SEGMENT}/customers", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, CustomerPage)
@requires(READ)
def segment_customers(args: dict[str, Any], segment_id: int) -> dict[str, Any]:
    """The segment's customers now, newest first."""
    segments.visible_segment(db.session, staff_actor().id, segment_id)
    return page_body(queries.list_customers(db.session, segment_id=segment_id,
                                            page=args["page"],
                                            per_page=capped_size(args.get("per_page"))))


def visible_segment_id(segment_id: int | None) -> int | None:
    """A ``segment_id`` filter, once checked to name a segment the caller sees (404 else)."""
    if segment_id is not None:
        segments.visible_segment(db.session, staff_actor().id, segment_id)
    return segment_id


def _may_share() -> bool:
    principal = current_principal()
    return principal is not None and principal.can(Permission.SEGMENTS_MANAGE)
