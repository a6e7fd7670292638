"""Health and identity endpoints."""

from flask_smorest import Blueprint

from helpdesk.auth.guard import current_principal, public, requires
from helpdesk.auth.policy import Permission

blp = Blueprint("api_meta", __name__, description="Service health and the caller's identity")


@blp.route("/health")
@public
def health() -> dict[str, str]:
    """Liveness probe."""
    return {"status": "ok"}


@blp.route("/me")
@requires(Permission.USERS_READ)
def me() -> dict[str, object]:
    """The authenticated user and what they may do."""
    principal = current_principal()
    user = principal.user
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role.value,
            "scopes": principal.scopes}
