"""Customers in bulk: CSV imports (stored, then processed by the worker; their progress and
per-row errors) and the CSV export, in the same columns (see docs/customers-import.md)."""

from __future__ import annotations

from typing import Any

from flask import Response, request, stream_with_context
from marshmallow import Schema, fields
from werkzeug.exceptions import UnsupportedMediaType

from helpdesk.api.common import ID, ApiBlueprint, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import StrictSchema, enum, id_field, text
from helpdesk.api.segments import visible_segment_id
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import CustomerImport, ImportState
from helpdesk.services import customer_imports
from helpdesk.services.common import get_or_404

blp = ApiBlueprint("api_customer_imports", __name__,
                   description="Customer imports and exports (CSV)")
IMPORT = f"/customers/imports/<{ID}:import_id>"
CSV = "text/csv"
BULK = Permission.CUSTOMERS_IMPORT


class ImportQuery(StrictSchema):
    filename = text(255, metadata={"description": "The file's name, shown in the list"})


class ImportOut(Schema):
    id = fields.Integer()
    filename = fields.String()
    state = enum(ImportState, metadata={
        "description": "queued, running (processed_rows tells how far), done, or failed "
                       "(the file could not be read any more: error)"})
    total_rows = fields.Integer()
    processed_rows = fields.Integer()
    created = fields.Integer(attribute="created_count")
    updated = fields.Integer(attribute="updated_count")
    unchanged = fields.Integer(attribute="unchanged_count")
    failed = fields.Integer(attribute="failed_count", metadata={
        "description": "Rows refused: see /errors"})
    error = fields.String()
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class ImportList(Schema):
    items = fields.List(fields.Nested(ImportOut))


class ImportErrorOut(Schema):
    row = fields.Integer(metadata={"description": "As a spreadsheet numbers it (header: 1)"})
    column = fields.String(metadata={"description": "Empty: the row as a whole"})
    message = fields.String()


class ImportErrorList(Schema):
    items = fields.List(fields.Nested(ImportErrorOut))


class ExportQuery(StrictSchema):
    q = text(200, metadata={"description": "Part of a name or of an identity value"})
    segment_id = id_field(strict=False, metadata={"description": "Only this segment's"})


@blp.route("/customers/imports", methods=["POST"])
@blp.arguments(ImportQuery, location="query")
@blp.doc(requestBody={"required": True, "description": "The CSV file, UTF-8, its first line "
                      "naming the columns", "content": {CSV: {"schema": {
                          "type": "string", "format": "binary"}}}})
@blp.response(202, ImportOut, description="Stored; the worker imports its rows")
@blp.alt_response(413, schema=ErrorSchema, description="Larger than the request size limit")
@blp.alt_response(415, schema=ErrorSchema, description=f"Not sent as {CSV}")
@blp.alt_response(422, schema=ErrorSchema, description="Not UTF-8, no header, an unknown or "
                  "repeated column, no column identifying customers: `fields.file` says")
@requires(BULK)
def start_import(args: dict[str, Any]) -> tuple[CustomerImport, int]:
    """Upload customers as CSV: ``name``, ``email``, ``phone``, ``external_id``,
    ``language``, ``timezone``, ``organisation`` and ``attr:<key>`` columns.

    Each row updates the customer owning one of its identities, or creates one; follow the
    import's progress and errors at ``/customers/imports/{id}``.
    """
    if request.mimetype != CSV:
        raise UnsupportedMediaType(f"send the file with Content-Type: {CSV}")
    with unit_of_work() as uow:
        started = customer_imports.start_import(
            uow, staff_actor(), filename=args.get("filename", ""),
            content=request.get_data(cache=False))
    return reload(CustomerImport, started.id), 202


@blp.route("/customers/imports", methods=["GET"])
@blp.response(200, ImportList)
@requires(BULK)
def list_imports() -> dict[str, Any]:
    """The latest imports, newest first."""
    return {"items": customer_imports.recent_imports(db.session)}


@blp.route(IMPORT, methods=["GET"])
@blp.response(200, ImportOut)
@requires(BULK)
def get_import(import_id: int) -> CustomerImport:
    """One import and its progress."""
    return get_or_404(db.session, CustomerImport, import_id, field="import_id")


@blp.route(f"{IMPORT}/errors", methods=["GET"])
@blp.response(200, ImportErrorList)
@requires(BULK)
def import_errors(import_id: int) -> dict[str, Any]:
    """What was wrong with each refused row, in file order (several problems per row)."""
    return {"items": customer_imports.import_errors(db.session, import_id)}


@blp.route("/customers/export", methods=["GET"])
@blp.arguments(ExportQuery, location="query")
@blp.response(200, {"type": "string"}, content_type=CSV,
              description="The customers as CSV, in the import's columns")
@requires(BULK)
def export(args: dict[str, Any]) -> Response:
    """The customers (all, or those a search and a segment select) as CSV, streamed."""
    lines = customer_imports.export_lines(
        db.session_factory, search=args.get("q"),
        segment_id=visible_segment_id(args.get("segment_id")))
    return Response(stream_with_context(lines), mimetype=CSV, headers={
        "Content-Disposition": 'attachment; filename="customers.csv"'})
