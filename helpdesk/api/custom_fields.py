"""Custom fields of conversations, customers and organisations: the definitions (values are
set with PATCH on what they describe)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow.validate import Length, Range, Regexp

from helpdesk.api.common import ID, ApiBlueprint, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import PatchSchema, StrictSchema, enum, flag, text
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import CustomFieldDefinition, FieldSubject, FieldType
from helpdesk.services import custom_fields
from helpdesk.services.custom_fields import KEY, MAX_POSITION

blp = ApiBlueprint("api_custom_fields", __name__,
                   description="Custom fields of conversations, customers (attributes) and "
                               "organisations, defined by admins")
FIELD = f"/custom-fields/<{ID}:field_id>"


class CustomFieldFields(StrictSchema):
    label = text(100, min_length=1)
    options = fields.List(text(100, min_length=1), validate=Length(max=100), metadata={
        "description": "A select field's choices (only a select has options)"})
    required_on_solve = flag(metadata={
        "description": "A conversation is solved only with a value (a ticked checkbox)"})
    position = fields.Integer(strict=True, validate=Range(0, MAX_POSITION),
                              metadata={"description": "Display order, smallest first"})


class CustomFieldIn(CustomFieldFields):
    key = fields.String(required=True, validate=Regexp(
        KEY, error="a-z, digits and _, starting with a letter (at most 64)"), metadata={
            "description": "The name of the value in a conversation's custom_fields"})
    label = text(100, min_length=1, required=True)
    type = enum(FieldType, required=True, metadata={
        "description": "text, number, date (YYYY-MM-DD), select (a choice) or checkbox "
                       "(true/false)"})
    subject = enum(FieldSubject, load_default=FieldSubject.CONVERSATION, metadata={
        "description": "What it describes: conversation (custom_fields), customer or "
                       "organisation (attributes); fixed once created"})


class CustomFieldPatch(CustomFieldFields, PatchSchema):
    pass


class CustomFieldOut(Schema):
    id = fields.Integer()
    subject = enum(FieldSubject)
    key = fields.String()
    label = fields.String()
    type = enum(FieldType)
    options = fields.List(fields.String())
    required_on_solve = fields.Boolean()
    position = fields.Integer()
    created_at = fields.DateTime()


class CustomFieldList(Schema):
    items = fields.List(fields.Nested(CustomFieldOut))


class CustomFieldQuery(StrictSchema):
    subject = enum(FieldSubject, load_default=FieldSubject.CONVERSATION)


@blp.route("/custom-fields", methods=["GET"])
@blp.arguments(CustomFieldQuery, location="query")
@blp.response(200, CustomFieldList)
@requires(Permission.CONVERSATIONS_READ)
def list_fields(args: dict[str, Any]) -> dict[str, Any]:
    """The field definitions of one subject (default: conversation), in display order."""
    return {"items": custom_fields.definitions(db.session, args["subject"])}


@blp.route("/custom-fields", methods=["POST"])
@blp.arguments(CustomFieldIn)
@blp.response(201, CustomFieldOut)
@blp.alt_response(409, schema=ErrorSchema, description="Another field has this key")
@requires(Permission.FIELDS_MANAGE)
def create_field(data: dict[str, Any]) -> CustomFieldDefinition:
    """Define a field; its key and type cannot change afterwards."""
    with unit_of_work() as uow:
        created = custom_fields.create_field(uow, staff_actor(), **data)
    return reload(CustomFieldDefinition, created.id)


@blp.route(FIELD, methods=["PATCH"])
@blp.arguments(CustomFieldPatch)
@blp.response(200, CustomFieldOut)
@requires(Permission.FIELDS_MANAGE)
def update_field(data: dict[str, Any], field_id: int) -> CustomFieldDefinition:
    """Change a field's label, options, required flag or position."""
    with unit_of_work() as uow:
        custom_fields.update_field(uow, staff_actor(), field_id, **data)
    return reload(CustomFieldDefinition, field_id)


@blp.route(FIELD, methods=["DELETE"])
@blp.response(204)
@requires(Permission.FIELDS_MANAGE)
def delete_field(field_id: int) -> None:
    """Delete a definition; the values conversations hold are left as they are."""
    with unit_of_work() as uow:
        custom_fields.delete_field(uow, staff_actor(), field_id)
