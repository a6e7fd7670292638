"""Health and identity endpoints."""

from marshmallow import Schema, fields

from helpdesk.api.common import ApiBlueprint
from helpdesk.auth.guard import current_principal, public, requires
from helpdesk.auth.policy import Permission

blp = ApiBlueprint("api_meta", __name__, description="Service health and the caller's identity")


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


@blp.route("/me")
@blp.response(200, MeOut)
@requires(Permission.USERS_READ)
def me() -> dict[str, object]:
    """The authenticated user and what they may do."""
    principal = current_principal()
    user = principal.user
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role.value,
            "scopes": principal.scopes}
