"""Inbound email: a mail relay hands Comptoir raw messages, one per request."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, fields
from werkzeug.exceptions import UnsupportedMediaType

from helpdesk.api.common import ApiBlueprint
from helpdesk.api.openapi import ErrorSchema
from helpdesk.auth.guard import current_principal, requires
from helpdesk.auth.policy import Permission
from helpdesk.mail import intake
from helpdesk.models import InboundSource, IntakeOutcome, ThreadRule

blp = ApiBlueprint("api_inbound", __name__, description="Raw emails handed to the intake")
RFC822 = "message/rfc822"


class InboundEmailOut(Schema):
    id = fields.Integer(metadata={"description": "The stored email"})
    source = fields.String()
    outcome = fields.String(metadata={"enum": [o.value for o in IntakeOutcome]})
    conversation_id = fields.Integer(allow_none=True)
    message_id = fields.Integer(allow_none=True)
    thread_rule = fields.String(allow_none=True, metadata={
        "enum": [r.value for r in ThreadRule], "description": "The rule that threaded it"})
    reason = fields.String(metadata={"description": "Why it was quarantined, or what it is"})


@blp.route("/inbound/email", methods=["POST"])
@blp.doc(requestBody={"required": True, "description": "One raw email (RFC 822 bytes)",
                      "content": {RFC822: {"schema": {"type": "string", "format": "binary"}}}})
@blp.response(201, InboundEmailOut, description="Stored and processed; `outcome` says into "
              "what (`quarantined`: processing failed, the email waits for a reprocess)")
@blp.alt_response(200, schema=InboundEmailOut, success=True,
                  description="Received before: the first copy's conversation (`duplicate`)")
@blp.alt_response(400, schema=ErrorSchema, description="The body is empty")
@blp.alt_response(413, schema=ErrorSchema, description="Larger than the request size limit")
@blp.alt_response(415, schema=ErrorSchema, description=f"Not sent as {RFC822}")
@requires(Permission.EMAIL_INGEST)
def inbound_email() -> tuple[dict[str, Any], int]:
    """Hand over one received email (the whole message, headers included)."""
    if request.mimetype != RFC822:
        raise UnsupportedMediaType(f"send the raw email with Content-Type: {RFC822}")
    outcome = intake.ingest(request.get_data(cache=False), intake.Source(
        InboundSource.API, reference=_caller()))
    return outcome.as_dict(), 200 if outcome.duplicate else 201


def _caller() -> str:
    principal = current_principal()
    if principal.token_id is not None:
        return f"api token {principal.token_id}"
    return f"user {principal.user.id}"
