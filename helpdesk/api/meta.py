"""Health, metrics and identity endpoints."""

from flask import Response
from marshmallow import Schema, fields
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from helpdesk.api.common import ApiBlueprint
from helpdesk.auth.guard import current_principal, public, requires
from helpdesk.auth.policy import Permission

blp = ApiBlueprint("api_meta", __name__,
                   description="Service health, metrics and the caller's identity")


class HealthOut(Schema):
    status = fields.String()


class MeOut(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    scopes = fields.List(fields.String(), allow_none=True, metadata={
        "description": "The token's scopes; null for a browser session"})


@blp.route("/health")
@blp.response(200, HealthOut)
@public
def health() -> dict[str, str]:
    """Liveness probe."""
    return {"status": "ok"}


@blp.route("/metrics")
@blp.response(200, {"type": "string"}, content_type="text/plain",
              description="Prometheus text exposition format")
@requires(Permission.METRICS_READ)
def metrics() -> Response:
    """This process's metrics for Prometheus (e.g. the Rasa engine's calls by outcome)."""
    return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)


@blp.route("/me")
@blp.response(200, MeOut)
@requires(Permission.USERS_READ)
def me() -> dict[str, object]:
    """The authenticated user and what they may do."""
    principal = current_principal()
    user = principal.user
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role.value,
            "scopes": principal.scopes}
