"""Privacy: a customer's data exported or erased on request; the retention rules."""

from __future__ import annotations

from typing import Any

from flask import Response, send_file, url_for
from marshmallow import Schema, fields
from marshmallow.validate import Range

from helpdesk.api.common import ID, ApiBlueprint, capped_size, page_body, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import (
    PageArgs,
    PageMeta,
    PatchSchema,
    StrictSchema,
    enum,
    id_field,
    text,
)
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import DataRequest, DataRequestKind, DataRequestState
from helpdesk.orm import utcnow
from helpdesk.privacy import erasure, exports, folders, queries, retention
from helpdesk.services.common import get_or_404

blp = ApiBlueprint("api_privacy", __name__,
                   description="Customers' data exports and erasures; retention rules")
CUSTOMER = f"/customers/<{ID}:customer_id>"
REQUEST = f"/data-requests/<{ID}:request_id>"
MANAGE, RETENTION = Permission.PRIVACY_MANAGE, Permission.RETENTION_MANAGE
MERGED_AWAY = "The customer was merged into another one: erase that one"


class DataRequestOut(Schema):
    id = fields.Integer()
    kind = enum(DataRequestKind)
    state = enum(DataRequestState, metadata={
        "description": "pending (waits for the worker), running, done, failed (see error), "
                       "expired (an export's archive was deleted)"})
    customer_id = fields.Integer()
    requested_by_id = fields.Integer(allow_none=True)
    counts = fields.Dict(metadata={
        "description": "Export: rows exported per table (exported). Erasure: rows deleted "
                       "and anonymised per table, files removed. Never personal data."})
    archive_size = fields.Integer(allow_none=True, metadata={"description": "Bytes"})
    download_url = fields.Method("_download_url", allow_none=True, metadata={
        "description": "The archive of a finished export (each download is audited)"})
    error = fields.String()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)

    def _download_url(self, request: DataRequest) -> str | None:
        if request.archive_name is None:
            return None
        return url_for("api_privacy.download_archive", request_id=request.id)


class DataRequestPage(Schema):
    items = fields.List(fields.Nested(DataRequestOut))
    meta = fields.Nested(PageMeta)


class DataRequestQuery(PageArgs):
    customer_id = id_field(strict=False, metadata={"description": "One customer's requests"})


class ErasureIn(StrictSchema):
    confirm = text(50, required=True, metadata={
        "description": "Exactly ERASE <customer id>, e.g. ERASE 42: erasure cannot be undone"})


def _days(rule: str) -> fields.Integer:
    return fields.Integer(strict=True, allow_none=True, validate=Range(1, retention.MAX_DAYS),
                          metadata={"description": f"Days kept ({rule}); null: for ever"})


RetentionIn = PatchSchema.from_dict({rule: _days(rule) for rule in retention.RULES},
                                    name="RetentionIn")
RetentionOut = Schema.from_dict({rule: fields.Integer(allow_none=True)
                                 for rule in retention.RULES}, name="RetentionOut")


class RetentionPreview(Schema):
    would_delete = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Per rule that is on: the conversations (anonymous_visitors: the "
                       "visitors) deleted, or the email sources purged, if it ran now"})


@blp.route(f"{CUSTOMER}/export", methods=["POST"])
@blp.response(202, DataRequestOut)
@requires(MANAGE)
def export_customer(customer_id: int) -> DataRequest:
    """Ask for an archive of everything about the customer. A small one is built at once
    (``state``: done); a large one by the worker: follow the request until it is done,
    then download ``download_url``. Archives are deleted after 7 days."""
    with unit_of_work() as uow:
        request_id = exports.request_export(uow, staff_actor(), customer_id).id
    if exports.is_small(db.session, customer_id):
        exports.build(unit_of_work, request_id, folders())
    return reload(DataRequest, request_id)


@blp.route(f"{CUSTOMER}/erasure", methods=["POST"])
@blp.arguments(ErasureIn)
@blp.response(200, DataRequestOut)
@blp.alt_response(409, schema=ErrorSchema, description=MERGED_AWAY)
@requires(MANAGE)
def erase_customer(data: dict[str, Any], customer_id: int) -> DataRequest:
    """Erase everything about the customer, at once and for good (conversations, messages,
    files, calls, emails, history, the assistant's records); the customer's record stays,
    blank, with one history event counting what was erased. Idempotent."""
    request_id = erasure.erase_customer(unit_of_work, staff_actor(), customer_id,
                                        data["confirm"], folders())
    return reload(DataRequest, request_id)


@blp.route("/data-requests", methods=["GET"])
@blp.arguments(DataRequestQuery, location="query")
@blp.response(200, DataRequestPage)
@requires(MANAGE)
def list_data_requests(args: dict[str, Any]) -> dict[str, Any]:
    """Exports and erasures, newest first."""
    return page_body(queries.data_requests(
        db.session, customer_id=args.get("customer_id"), page=args["page"],
        per_page=capped_size(args.get("per_page"))))


@blp.route(REQUEST, methods=["GET"])
@blp.response(200, DataRequestOut)
@requires(MANAGE)
def get_data_request(request_id: int) -> DataRequest:
    """One export or erasure: its state, counts and, when done, the archive's link."""
    return get_or_404(db.session, DataRequest, request_id, field="request_id")


@blp.route(f"{REQUEST}/archive", methods=["GET"])
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/zip",
              description="The zip archive (README.txt inside says what each file holds)")
@blp.alt_response(409, schema=ErrorSchema, description="Not an export, or not done")
@requires(MANAGE)
def download_archive(request_id: int) -> Response:
    """Download a finished export's archive (recorded in the audit log)."""
    with unit_of_work() as uow:
        path, name = exports.archive_to_download(uow, staff_actor(), request_id,
                                                 folders().exports)
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=name)


@blp.route("/retention", methods=["GET"])
@blp.response(200, RetentionOut)
@requires(RETENTION)
def get_retention() -> dict[str, int | None]:
    """Days each kind of data is kept (null: for ever): anonymous_chat (anonymous visitors'
    finished chats, after their last activity), closed_<channel> (conversations solved or
    closed), email_sources (the raw source of received emails)."""
    return retention.current_settings(db.session)


@blp.route("/retention", methods=["PATCH"])
@blp.arguments(RetentionIn)
@blp.response(200, RetentionOut)
@requires(RETENTION)
def update_retention(data: dict[str, int | None]) -> dict[str, int | None]:
    """Set the days of the rules sent (null turns one off); the worker applies them hourly."""
    with unit_of_work() as uow:
        retention.save_settings(uow, staff_actor(), data)
    return retention.current_settings(db.session)


@blp.route("/retention/preview", methods=["GET"])
@blp.response(200, RetentionPreview)
@requires(RETENTION)
def preview_retention() -> dict[str, Any]:
    """What the rules would delete if they ran now (nothing is deleted)."""
    return {"would_delete": retention.preview(db.session, utcnow())}
