"""Working on conversations as a whole: bulk actions on many, merging two, splitting
messages off."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow.validate import Length, Range

from helpdesk.api.common import ID, ApiBlueprint, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import MAX_ID, ConversationOut, StrictSchema, enum, flag, id_field, text
from helpdesk.auth.guard import current_principal, requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import unit_of_work
from helpdesk.models import Conversation, ConversationStatus, Priority
from helpdesk.services import bulk, merging
from helpdesk.services.bulk import BulkAction, BulkChange

blp = ApiBlueprint("api_conversation_tools", __name__,
                   description="Bulk actions on conversations, merging and splitting them")
CONVERSATION = f"/conversations/<{ID}:conversation_id>"
WRITE = Permission.CONVERSATIONS_WRITE
CONFIRM = ("Needed when the two conversations are different customers'; only supervisors "
           "and admins (customers:merge) may confirm")


def _confirm() -> fields.Boolean:
    return flag(load_default=False, metadata={"description": CONFIRM})


class BulkIn(StrictSchema):
    conversation_ids = fields.List(id_field(), required=True,
                                   validate=Length(1, bulk.MAX_ITEMS))
    action = enum(BulkAction, required=True, metadata={
        "description": "assign (assignee_id; null: back to the queue), status (status), "
                       "priority (priority), queue (handed to queue_id, unassigned), "
                       "add_tag (tag)"})
    assignee_id = id_field(allow_none=True, load_default=None)
    status = enum(ConversationStatus)
    priority = enum(Priority)
    queue_id = id_field()
    tag = text(bulk.MAX_TAG, min_length=1)



class BulkItemOut(Schema):
    conversation_id = fields.Integer()
    ok = fields.Boolean()
    code = fields.String(allow_none=True, metadata={
        "description": "Why it failed: not_found, conflict, invalid_transition, "
                       "validation_failed…"})
    error = fields.String(allow_none=True, metadata={"description": "What went wrong"})


class BulkOut(Schema):
    results = fields.List(fields.Nested(BulkItemOut), metadata={
        "description": "One per conversation, in the order sent (duplicates once)"})
    succeeded = fields.Integer()
    failed = fields.Integer()


class ConversationMergeIn(StrictSchema):
    source_id = id_field(required=True, metadata={
        "description": "The conversation merged into this one (then closed)"})
    confirm_other_customer = _confirm()


class SplitIn(StrictSchema):
    seq = fields.Integer(strict=True, required=True, validate=Range(1, MAX_ID), metadata={
        "description": "The message to move"})
    following = flag(load_default=False, metadata={
        "description": "Move every later message too"})
    target_id = id_field(allow_none=True, load_default=None, metadata={
        "description": "Move them to this conversation; null: to a new one"})
    subject = text(300, allow_none=True, load_default=None, metadata={
        "description": "The new conversation's subject (default: this one's)"})
    confirm_other_customer = _confirm()


@blp.route("/conversations/bulk", methods=["POST"])
@blp.arguments(BulkIn)
@blp.response(200, BulkOut)
@requires(WRITE)
def bulk_action(data: dict[str, Any]) -> dict[str, Any]:
    """Apply one action to many conversations, each on its own.

    A conversation that cannot take it (gone, closed, a status move the lifecycle
    forbids…) is reported in its result; the others are changed.
    """
    ids = data.pop("conversation_ids")
    with unit_of_work() as uow:
        results = bulk.apply(uow, staff_actor(), ids, BulkChange(**data))
    failed = sum(not r.ok for r in results)
    return {"results": results, "succeeded": len(results) - failed, "failed": failed}


@blp.route(f"{CONVERSATION}/merge", methods=["POST"])
@blp.arguments(ConversationMergeIn)
@blp.response(200, ConversationOut, description="This conversation, with the messages")
@blp.alt_response(409, schema=ErrorSchema, description="A conversation is closed or merged "
                  "already, or they are different customers' and nobody confirmed")
@requires(WRITE)
def merge(data: dict[str, Any], conversation_id: int) -> Conversation:
    """Merge another conversation into this one: its messages move here (after this one's),
    replies to its emails thread here, its tags are added; it is closed, pointing here."""
    with unit_of_work() as uow:
        merging.merge(uow, staff_actor(), conversation_id, may_confirm=_may_confirm(), **data)
    return reload(Conversation, conversation_id)


@blp.route(f"{CONVERSATION}/split", methods=["POST"])
@blp.arguments(SplitIn)
@blp.response(201, ConversationOut, description="The new conversation the messages went to")
@blp.alt_response(200, schema=ConversationOut, success=True,
                  description="The existing conversation (target_id) they went to")
@blp.alt_response(409, schema=ErrorSchema, description="A conversation is closed or merged, "
                  "or they are different customers' and nobody confirmed")
@requires(WRITE)
def split(data: dict[str, Any], conversation_id: int) -> tuple[Conversation, int]:
    """Move a message (and, with ``following``, every later one) to a new conversation of
    the same customer, or to another one; replies to its email follow it."""
    with unit_of_work() as uow:
        target_id = merging.split(uow, staff_actor(), conversation_id,
                                  may_confirm=_may_confirm(), **data).id
    return reload(Conversation, target_id), 200 if data["target_id"] else 201


def _may_confirm() -> bool:
    principal = current_principal()
    return principal is not None and principal.can(Permission.CUSTOMERS_MERGE)
