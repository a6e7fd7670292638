"""Staff users, their presence, and personal API tokens.

Presence and tokens need ``account:manage``, which everyone holds on their own
account (see ``helpdesk.auth.policy.SELF_SERVICE``) and admins on every account.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from helpdesk.api.common import ID, ApiBlueprint, capped_size, page_body, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import (
    IssuedToken,
    PresenceIn,
    TokenIn,
    TokenList,
    UserIn,
    UserOut,
    UserPage,
    UserPatch,
    UserQuery,
)
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import ApiToken, User
from helpdesk.services import staff
from helpdesk.services.common import get_or_404
from helpdesk.services.queries import paginate

blp = ApiBlueprint("api_users", __name__,
                   description="Staff accounts, presence and personal API tokens")
USER = f"/users/<{ID}:user_id>"
READ, MANAGE = Permission.USERS_READ, Permission.USERS_MANAGE
ACCOUNT = Permission.ACCOUNT_MANAGE


@blp.route("/users", methods=["GET"])
@blp.arguments(UserQuery, location="query")
@blp.response(200, UserPage)
@requires(READ)
def list_users(args: dict[str, Any]) -> dict[str, Any]:
    """List staff users by name, optionally by ``role`` and ``active``."""
    query = select(User).order_by(User.name, User.id)
    if "role" in args:
        query = query.where(User.role == args["role"])
    if "active" in args:
        query = query.where(User.active.is_(args["active"]))
    return page_body(paginate(db.session, query, args["page"],
                              capped_size(args.get("per_page"))))


@blp.route("/users", methods=["POST"])
@blp.arguments(UserIn)
@blp.response(201, UserOut)
@blp.alt_response(409, schema=ErrorSchema, description="The email is taken")
@requires(MANAGE)
def create_user(data: dict[str, Any]) -> User:
    """Create a staff account (password: at least 10 characters)."""
    with unit_of_work() as uow:
        created = staff.create_user(uow, staff_actor(), **data)
    return reload(User, created.id)


@blp.route(USER, methods=["GET"])
@blp.response(200, UserOut)
@requires(READ)
def get_user(user_id: int) -> User:
    """One staff user."""
    return get_or_404(db.session, User, user_id)


@blp.route(USER, methods=["PATCH"])
@blp.arguments(UserPatch)
@blp.response(200, UserOut)
@requires(MANAGE)
def update_user(data: dict[str, Any], user_id: int) -> User:
    """Change role, activity, capacity, skills, locale, name or password."""
    with unit_of_work() as uow:
        staff.update_user(uow, staff_actor(), user_id, **data)
    return reload(User, user_id)


@blp.route(f"{USER}/presence", methods=["PUT"])
@blp.arguments(PresenceIn)
@blp.response(200, UserOut)
@requires(ACCOUNT)
def set_presence(data: dict[str, Any], user_id: int) -> User:
    """Set online, away or offline."""
    with unit_of_work() as uow:
        staff.set_presence(uow, staff_actor(), user_id, data["presence"])
    return reload(User, user_id)


@blp.route(f"{USER}/tokens", methods=["GET"])
@blp.response(200, TokenList)
@requires(ACCOUNT)
def list_tokens(user_id: int) -> dict[str, Any]:
    """The user's API tokens, revoked ones included (never their secrets)."""
    get_or_404(db.session, User, user_id)
    found = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                               .order_by(ApiToken.id))
    return {"items": list(found)}


@blp.route(f"{USER}/tokens", methods=["POST"])
@blp.arguments(TokenIn)
@blp.response(201, IssuedToken)
@requires(ACCOUNT)
def issue_token(data: dict[str, Any], user_id: int) -> dict[str, Any]:
    """Issue a personal API token. The secret is in this response only: store it now."""
    scopes = [scope.value for scope in data.pop("scopes")]
    with unit_of_work() as uow:
        token, secret = staff.issue_token(uow, staff_actor(), user_id, scopes=scopes, **data)
    return {"token": reload(ApiToken, token.id), "secret": secret}


@blp.route(f"{USER}/tokens/<{ID}:token_id>", methods=["DELETE"])
@blp.response(204)
@requires(ACCOUNT)
def revoke_token(user_id: int, token_id: int) -> None:
    """Revoke a token: it stops working at once."""
    with unit_of_work() as uow:
        staff.revoke_token(uow, staff_actor(), user_id, token_id)
