"""The flask-smorest ``Api`` as Comptoir documents it: our error shape, explicit error codes."""

from __future__ import annotations

from flask_smorest import Api
from marshmallow import Schema, fields


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={"description": "Stable, machine-readable"})
    message = fields.String(required=True, metadata={"description": "For humans"})
    problems = fields.Dict(keys=fields.String(), data_key="fields", metadata={
        "description": "Problems by input field name"})


class ErrorSchema(Schema):
    """The body of every error response (see ``helpdesk.errors_http``)."""

    error = fields.Nested(ErrorDetail, required=True)


class ComptoirApi(Api):
    """Error responses use ``ErrorSchema``; each operation lists its own error codes
    (no catch-all ``default`` response, so the spec says exactly what can happen)."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None
