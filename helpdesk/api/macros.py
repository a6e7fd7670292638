"""Macros (canned responses): manage them, and apply one to a conversation."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow.validate import Length

from helpdesk.api.common import ID, ApiBlueprint, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import (
    ConversationOut,
    MessageOut,
    PatchSchema,
    StrictSchema,
    enum,
    flag,
    text,
)
from helpdesk.auth.guard import current_principal, requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Conversation, ConversationStatus, Macro, Message, Priority
from helpdesk.placeholders import NAMES
from helpdesk.services import macros
from helpdesk.services.conversations import MAX_BODY

blp = ApiBlueprint("api_macros", __name__, description="Macros (canned responses)")
MACRO = f"/macros/<{ID}:macro_id>"
NAME_TAKEN = "Another macro in the same scope has this name"
PLACEHOLDERS = ", ".join(f"{{{{{name}}}}}" for name in NAMES)


def _tags(description: str) -> fields.List:
    return fields.List(text(64, min_length=1), validate=Length(max=50),
                       metadata={"description": description})


class MacroActions(StrictSchema):
    status = enum(ConversationStatus, metadata={"description": "Move it to this status"})
    priority = enum(Priority)
    add_tags = _tags("Tags to add")
    remove_tags = _tags("Tags to remove")


class MacroActionsOut(Schema):
    status = fields.String()
    priority = fields.String()
    add_tags = fields.List(fields.String())
    remove_tags = fields.List(fields.String())


class MacroFields(StrictSchema):
    name = text(100, min_length=1)
    body = text(MAX_BODY, metadata={"description": f"The text; placeholders: {PLACEHOLDERS}"})
    actions = fields.Nested(MacroActions, metadata={
        "description": "What applying it changes (replaces the old set)"})


class MacroIn(MacroFields):
    name = text(100, min_length=1, required=True)
    shared = flag(load_default=False, metadata={
        "description": "For everyone (needs macros:manage); default: yours alone"})


class MacroPatch(MacroFields, PatchSchema):
    pass


class MacroOut(Schema):
    id = fields.Integer()
    name = fields.String()
    body = fields.String()
    shared = fields.Boolean()
    owner_id = fields.Integer(allow_none=True, metadata={"description": "null when shared"})
    actions = fields.Nested(MacroActionsOut, metadata={"description": "Only those it sets"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class MacroList(Schema):
    items = fields.List(fields.Nested(MacroOut))


class MacroApplyIn(StrictSchema):
    send = flag(load_default=False, metadata={
        "description": "Post the text as a reply; false: only return it (and apply the "
                       "actions)"})


class MacroAppliedOut(Schema):
    text = fields.String(metadata={"description": "The macro's text for this conversation"})
    message = fields.Nested(MessageOut, allow_none=True,
                            metadata={"description": "The reply posted (send: true)"})
    conversation = fields.Nested(ConversationOut)


@blp.route("/macros", methods=["GET"])
@blp.response(200, MacroList)
@requires(Permission.CONVERSATIONS_READ)
def list_macros() -> dict[str, Any]:
    """The shared macros and your own, by name."""
    return {"items": macros.visible_macros(db.session, staff_actor().id)}


@blp.route("/macros", methods=["POST"])
@blp.arguments(MacroIn)
@blp.response(201, MacroOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_TAKEN)
@requires(Permission.MACROS_WRITE)
def create_macro(data: dict[str, Any]) -> Macro:
    """Create a macro: yours, or shared (``shared``: true, with ``macros:manage``).

    An unknown placeholder in ``body`` is refused (422), naming it.
    """
    with unit_of_work() as uow:
        created = macros.create_macro(uow, staff_actor(), may_share=_may_share(), **data)
    return reload(Macro, created.id)


@blp.route(MACRO, methods=["GET"])
@blp.response(200, MacroOut)
@requires(Permission.CONVERSATIONS_READ)
def get_macro(macro_id: int) -> Macro:
    """One shared macro or one of yours."""
    return macros.visible_macro(db.session, staff_actor().id, macro_id)


@blp.route(MACRO, methods=["PATCH"])
@blp.arguments(MacroPatch)
@blp.response(200, MacroOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_TAKEN)
@requires(Permission.MACROS_WRITE)
def update_macro(data: dict[str, Any], macro_id: int) -> Macro:
    """Change one of your macros, or a shared one (with ``macros:manage``)."""
    with unit_of_work() as uow:
        macros.update_macro(uow, staff_actor(), macro_id, may_share=_may_share(), **data)
    return reload(Macro, macro_id)


@blp.route(MACRO, methods=["DELETE"])
@blp.response(204)
@requires(Permission.MACROS_WRITE)
def delete_macro(macro_id: int) -> None:
    """Delete one of your macros, or a shared one (with ``macros:manage``)."""
    with unit_of_work() as uow:
        macros.delete_macro(uow, staff_actor(), macro_id, may_share=_may_share())


@blp.route(f"/conversations/<{ID}:conversation_id>/macros/<{ID}:macro_id>", methods=["POST"])
@blp.arguments(MacroApplyIn)
@blp.response(200, MacroAppliedOut)
@blp.alt_response(409, schema=ErrorSchema,
                  description="The conversation is closed, or an action's status change is "
                              "not allowed")
@requires(Permission.CONVERSATIONS_WRITE)
def apply_macro(data: dict[str, Any], conversation_id: int, macro_id: int) -> dict[str, Any]:
    """Apply a macro: its text for this conversation, posted as your reply when ``send``,
    and its actions (status, priority, tags), all in one transaction."""
    with unit_of_work() as uow:
        applied = macros.apply_macro(uow, staff_actor(), conversation_id, macro_id,
                                     send=data["send"])
    message = reload(Message, applied.message_id) if applied.message_id else None
    return {"text": applied.text, "message": message,
            "conversation": reload(Conversation, conversation_id)}


def _may_share() -> bool:
    return current_principal().can(Permission.MACROS_MANAGE)
