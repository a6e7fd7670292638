"""Phone calls: a PBX or telephony provider posts its call events (CTI webhook)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from flask import current_app, request
from marshmallow import Schema, ValidationError, fields
from marshmallow.validate import Length

from helpdesk import signatures
from helpdesk.api.common import ApiBlueprint
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import MAX_ID, StrictSchema, enum, filled, id_field, text
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import unit_of_work
from helpdesk.models import CallEventKind, CallStatus
from helpdesk.services import calls

blp = ApiBlueprint("api_calls", __name__, description="Phone calls: a PBX's call events")
MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z


class IdOrText(fields.Field):
    """A row id (a JSON number) or a name, an email… (a JSON string)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | str:
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
            return value
        if isinstance(value, str) and value.strip() and len(value) <= 320:
            return value.strip()
        raise ValidationError("give an id (a whole number) or a name (a non-empty string)")


class Timestamp(fields.Field):
    """When the event happened: ISO 8601 with its offset, or Unix seconds."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if 0 <= value <= MAX_TIMESTAMP:
                return datetime.fromtimestamp(value, UTC)
        elif isinstance(value, str):
            return _iso_timestamp(value)
        raise ValidationError("give an ISO 8601 time with its offset "
                              "(2026-11-26T17:05:00+01:00) or Unix seconds")


def _iso_timestamp(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{value[:40]!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValidationError("add the time's offset (Z or +01:00): a time without one is "
                              "ambiguous")
    return moment.astimezone(UTC)


ID_OR_NAME = {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]}


class CallEventIn(StrictSchema):
    call_id = fields.String(required=True, validate=[Length(1, 128), filled], metadata={
        "description": "The PBX's id for the call, the same in every event of the call"})
    event = enum(CallEventKind, required=True, metadata={
        "description": "`answered` needs `agent`; `transferred` needs `agent` or `queue`"})
    caller = text(64, required=True, metadata={
        "description": "The caller's number (`+33612345678`, `0033…`, `sip:+33…@host`); "
                       "`anonymous` when withheld"})
    called = text(64, load_default="", metadata={"description": "The number dialled"})
    queue = IdOrText(load_default=None, metadata={
        **ID_OR_NAME, "description": "The queue's id or name"})
    agent = IdOrText(load_default=None, metadata={
        **ID_OR_NAME, "description": "The staff account's id or email"})
    timestamp = Timestamp(required=True, metadata={
        "oneOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
        "description": "When it happened (the call's events are ordered by it)"})
    recording_url = fields.Url(schemes={"http", "https"}, require_tld=False, load_default=None,
                               allow_none=True, validate=Length(max=2000))
    conversation_id = id_field(load_default=None, allow_none=True, metadata={
        "description": "An open conversation to attach the call to (else the call opens "
                       "its own phone conversation)"})


class CallEventOut(Schema):
    id = fields.Integer(metadata={"description": "The stored event"})
    call_id = fields.String()
    event = fields.String(metadata={"enum": [k.value for k in CallEventKind]})
    status = fields.String(metadata={"enum": [s.value for s in CallStatus],
                                     "description": "The call's state from all its events"})
    conversation_id = fields.Integer(allow_none=True)
    customer_id = fields.Integer()
    queue_id = fields.Integer(allow_none=True)
    agent_id = fields.Integer(allow_none=True)
    wait_seconds = fields.Integer(allow_none=True)
    talk_seconds = fields.Integer(allow_none=True)
    callback = fields.Boolean(metadata={
        "description": "Nobody answered: the conversation waits in the queue to be called back"})


@blp.before_request
def check_signature() -> None:
    """With ``calls_signing_secret`` set, every event must be signed (docs/calls.md)."""
    settings = current_app.config["COMPTOIR"]
    if settings.calls_signing_secret:
        signatures.verify(settings.calls_signing_secret, request.headers, request.get_data(),
                          now=time.time(), max_age=settings.calls_signature_max_age)


@blp.route("/calls/events", methods=["POST"])
@blp.arguments(CallEventIn)
@blp.response(201, CallEventOut, description="Stored and applied")
@blp.alt_response(200, schema=CallEventOut, success=True,
                  description="Received before (same `call_id` and `event`): the first answer")
@blp.alt_response(401, schema=ErrorSchema, description="No valid token, or (signing on) a "
                  "missing, wrong or too old signature (`bad_signature`)")
@blp.alt_response(422, schema=ErrorSchema, description="A field is invalid or names an unknown "
                  "queue, agent or conversation")
@requires(Permission.CALLS_INGEST)
def call_event(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Report one call event; events may come late, twice or out of order."""
    event = calls.CallEventIn(
        call_id=data["call_id"].strip(), kind=data["event"], occurred_at=data["timestamp"],
        caller=data["caller"], called=data["called"], queue=data["queue"],
        agent=data["agent"], recording_url=data["recording_url"] or "",
        conversation_id=data["conversation_id"], payload=request.get_json())
    country_code = current_app.config["COMPTOIR"].calls_country_code
    with unit_of_work() as uow:
        ingested = calls.ingest(uow, event, country_code=country_code)
    return ingested.result, 200 if ingested.duplicate else 201
