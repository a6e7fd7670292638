"""The one place where requests are authenticated and authorized."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, current_app, g, request
from flask_login import current_user

from helpdesk.auth.policy import Permission, allowed
from helpdesk.errors import DomainError, PermissionDenied
from helpdesk.extensions import csrf, db, unit_of_work
from helpdesk.models import User
from helpdesk.services.staff import note_token_use, token_owner, token_use_is_stale

F = TypeVar("F", bound=Callable[..., object])
PUBLIC_ENDPOINTS = {"static"}
PUBLIC_PREFIXES = ("api-docs.",)
API_BLUEPRINT_PREFIX = "api_"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401


@dataclass(frozen=True)
class Principal:
    """Who is calling: a staff user, with token scopes when a token was used."""

    user: User
    scopes: list[str] | None = None
    token_id: int | None = None

    def can(self, permission: Permission, *, own_account: bool = False) -> bool:
        return allowed(self.user.role, permission, self.scopes, own_account=own_account)


def requires(permission: Permission) -> Callable[[F], F]:
    """Declare the permission a view needs; ``enforce`` checks it."""
    def mark(view: F) -> F:
        view.required_permission = permission  # type: ignore[attr-defined]
        return view
    return mark


def public(view: F) -> F:
    """Declare a view open to anyone (login page, health check)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def current_principal() -> Principal | None:
    return g.get("principal")


def init_app(app: Flask) -> None:
    app.before_request(enforce)


def enforce() -> None:
    """Authenticate, then authorize against the view's declared permission."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or _is_public(view):
        return
    principal = _authenticate()
    # End the lookup's read so the request holds no pooled connection while the view's
    # unit of work takes one: two per request deadlock a busy pool. The loaded user stays
    # usable (sessions do not expire on commit).
    db.session.commit()
    g.principal = principal
    permission = getattr(view, "required_permission", None)
    if permission is None:
        # Fail closed: a view that forgot to declare its permission is refused.
        raise PermissionDenied(f"{request.endpoint} declares no permission")
    if principal is None:
        raise Unauthenticated("log in or send an API token (Authorization: Bearer …)")
    own_account = (request.view_args or {}).get("user_id") == principal.user.id
    if not principal.can(permission, own_account=own_account):
        raise PermissionDenied(f"your role or token lacks the {permission.value} permission")


def is_api_request() -> bool:
    return (request.blueprint or "").startswith(API_BLUEPRINT_PREFIX) or request.path.startswith(
        "/api/")


def _is_public(view: Callable[..., object]) -> bool:
    endpoint = request.endpoint or ""
    return (getattr(view, "is_public", False) or endpoint in PUBLIC_ENDPOINTS
            or endpoint.startswith(PUBLIC_PREFIXES))


def _authenticate() -> Principal | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return _token_principal(header.removeprefix("Bearer ").strip())
    if current_user.is_authenticated:
        if is_api_request() and request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()  # a browser session writing to the API proves it is our page
        return Principal(current_user._get_current_object())
    return None


def _token_principal(secret: str) -> Principal:
    token = token_owner(db.session, secret)
    if token is None:
        raise Unauthenticated("the API token is unknown, revoked or expired")
    principal = Principal(token.user, scopes=list(token.scopes), token_id=token.id)
    if token_use_is_stale(token):
        db.session.commit()
        with unit_of_work() as uow:
            note_token_use(uow, token.id)
    return principal
