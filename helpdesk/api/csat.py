"""Satisfaction: a conversation's rating (CSAT) as staff read it, or note it for the
customer (customers rate in the chat widget and on the page the solved email links to)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from helpdesk.api.common import ID, ApiBlueprint, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import StrictSchema, text
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Conversation
from helpdesk.services import csat
from helpdesk.services.common import get_or_404

blp = ApiBlueprint("api_csat", __name__, description="Customer satisfaction ratings (CSAT)")
CSAT = f"/conversations/<{ID}:conversation_id>/csat"


class CsatIn(StrictSchema):
    rating = fields.Integer(strict=True, required=True, metadata={
        "description": "1 (very dissatisfied) to 5 (very satisfied)"})
    comment = text(csat.MAX_COMMENT, load_default="")


class CsatOut(Schema):
    conversation_id = fields.Integer(attribute="id")
    rating = fields.Integer(attribute="csat_rating", allow_none=True, metadata={
        "description": "null: not rated yet"})
    comment = fields.String(attribute="csat_comment")
    given_at = fields.DateTime(attribute="csat_given_at", allow_none=True, metadata={
        "description": "When it was first given"})
    editable_until = fields.Method("_editable_until", allow_none=True, metadata={
        "type": "string", "format": "date-time",
        "description": "Until when it may be changed (7 days after it was given)"})
    agent_id = fields.Integer(attribute="csat_agent_id", allow_none=True, metadata={
        "description": "The agent it is about: the assignee, else the last agent who "
                       "replied, when it was first given"})
    queue_id = fields.Integer(attribute="csat_queue_id", allow_none=True)
    by_assistant = fields.Boolean(attribute="csat_by_assistant", metadata={
        "description": "The assistant solved it without any human"})
    channel = fields.String(attribute="channel.value")

    def _editable_until(self, conversation: Conversation) -> str | None:
        until = csat.editable_until(conversation)
        return until.isoformat() if until else None


@blp.route(CSAT, methods=["GET"])
@blp.response(200, CsatOut)
@requires(Permission.CONVERSATIONS_READ)
def get_csat(conversation_id: int) -> Conversation:
    """The conversation's rating and whom it is about (``rating`` null: not rated)."""
    return get_or_404(db.session, Conversation, conversation_id)


@blp.route(CSAT, methods=["PUT"])
@blp.arguments(CsatIn)
@blp.response(200, CsatOut)
@blp.alt_response(409, schema=ErrorSchema, description="Not solved yet, or rated more than "
                  "7 days ago (`rating_locked`)")
@requires(Permission.CONVERSATIONS_WRITE)
def put_csat(data: dict[str, Any], conversation_id: int) -> Conversation:
    """Note the customer's rating for them (said on the phone, written in a reply): the same
    rules as theirs, recorded as yours."""
    with unit_of_work() as uow:
        csat.rate(uow, staff_actor(), conversation_id, rating=data["rating"],
                  comment=data["comment"])
    return reload(Conversation, conversation_id)
