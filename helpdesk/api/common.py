"""What every API area shares: the blueprint class, strict input parsing, pages, the caller."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from http import HTTPStatus
from typing import Any, TypeVar

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import UnsupportedMediaType

from helpdesk.auth.guard import current_principal
from helpdesk.events import Actor
from helpdesk.extensions import db
from helpdesk.orm import Base
from helpdesk.services.queries import Page

M = TypeVar("M", bound=Base)
ID = "int(max=2147483647)"  # URL id converter: ids beyond PostgreSQL's integer are not found
AUTH_ERRORS = (401, 403)
BODY_ERRORS = (400, 413, 415)  # malformed JSON, too large, not JSON


class StrictParser(FlaskParser):
    """Reads bodies as JSON only, and refuses unknown query parameters like unknown fields."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "json": RAISE, "query": RAISE, "querystring": RAISE}

    def load_json(self, req: Any, schema: Any) -> Any:
        if not req.is_json:
            raise UnsupportedMediaType("send the body as JSON (Content-Type: application/json)")
        return super().load_json(req, schema)


class ApiBlueprint(Blueprint):
    """A smorest blueprint whose routes document who may call them and how they can fail.

    Each view must be marked ``@requires(...)`` or ``@public`` (checked when the route is
    declared); the permission, 401/403, 404 for paths with ids and the body errors are
    added to the operation's documentation.
    """

    ARGUMENTS_PARSER = StrictParser()

    def route(self, rule: str, **options: Any) -> Callable[[Callable], Callable]:
        register = super().route(rule, **options)

        def decorator(view: Callable) -> Callable:
            view._apidoc = _access_docs(view, rule)  # type: ignore[attr-defined]
            return register(view)
        return decorator


def _access_docs(view: Callable, rule: str) -> dict[str, Any]:
    doc = deepcopy(getattr(view, "_apidoc", {}))
    manual = doc.setdefault("manual_doc", {})
    if getattr(view, "is_public", False):
        manual["security"] = []
        return doc
    permission = getattr(view, "required_permission", None)
    if permission is None:
        raise TypeError(f"API view {view.__name__} needs @requires(Permission...) or @public")
    manual["x-permission"] = permission.value
    errors = [*AUTH_ERRORS, *([404] if "<" in rule else [])]
    if _reads_json(doc):
        errors += BODY_ERRORS
    responses = doc.setdefault("response", {}).setdefault("responses", {})
    for status in errors:
        responses.setdefault(status, [HTTPStatus(status).name])  # the shared error response
    return doc


def _reads_json(doc: dict[str, Any]) -> bool:
    return any(p["in"] == "json" for p in doc.get("arguments", {}).get("parameters", []))


def capped_size(requested: int | None) -> int:
    """Items per page: the client's choice, else ``page_size``, never above ``max_page_size``."""
    settings = current_app.config["COMPTOIR"]
    return min(requested or settings.page_size, settings.max_page_size)


def page_body(page: Page[Any]) -> dict[str, Any]:
    return {"items": page.items, "meta": {"page": page.page, "per_page": page.per_page,
                                          "total": page.total, "pages": page.pages}}


def staff_actor() -> Actor:
    """The authenticated staff user, as the actor the services record."""
    return Actor("agent", current_principal().user.id)


def reload(model: type[M], ident: int) -> M:
    """Read a row afresh after a write (the request's session may hold an older copy)."""
    return db.session.get(model, ident, populate_existing=True)
