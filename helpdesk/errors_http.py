"""Turn errors into responses: JSON with a stable ``code`` for the API, pages for the UI."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from helpdesk.auth.guard import Unauthenticated, is_api_request
from helpdesk.errors import DomainError

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(PoolTimeout, _database_busy)
    app.register_error_handler(Exception, _unexpected_error)


def error_response(status: int, code: str, message: str,
                   fields: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> ResponseReturnValue:
    """The one error shape: ``{"error": {"code", "message", "fields"?}}``."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    if is_api_request() or request.accept_mimetypes.best == "application/json":
        return jsonify(error=body), status, headers or {}
    page = render_template("error.html", status=status, code=code, message=message)
    return page, status, headers or {}


def _domain_error(exc: DomainError) -> ResponseReturnValue:
    if isinstance(exc, Unauthenticated) and not is_api_request():
        return redirect(url_for("web.login", next=request.full_path))
    fields = {exc.field: [exc.message]} if exc.field else None
    return error_response(exc.status, exc.code, exc.message, fields)


def _csrf_error(exc: CSRFError) -> ResponseReturnValue:
    return error_response(400, "csrf_failed", exc.description)


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    code = "validation_failed" if status == 422 else (exc.name or "error").lower().replace(" ", "_")
    fields = _validation_fields(exc)
    if fields:
        return error_response(status, code, _first_problem(fields), fields)
    return error_response(status, code, exc.description or exc.name)


def _database_busy(exc: PoolTimeout) -> ResponseReturnValue:
    log.warning("no database connection free for %s %s: %s", request.method, request.path, exc)
    return error_response(503, "database_busy",
                          "every database connection is busy; retry in a moment",
                          headers={"Retry-After": "1"})


def _unexpected_error(exc: Exception) -> ResponseReturnValue:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "something went wrong on our side")


def _validation_fields(exc: HTTPException) -> dict[str, Any] | None:
    """flask-smorest puts marshmallow's messages in ``exc.data``; flatten them by field."""
    messages = (getattr(exc, "data", None) or {}).get("messages")
    if not messages:
        return None
    flat: dict[str, Any] = {}
    for location, problems in messages.items():
        # A problem with the whole body (e.g. not valid JSON) is listed under its location.
        flat.update(problems if isinstance(problems, dict) else {location: problems})
    return flat


def _first_problem(fields: dict[str, Any]) -> str:
    """``"identities.0.value: Missing data"``: the path to the first problem, then the problem.

    Keys starting with ``_`` (marshmallow's ``_schema``) are not fields and stay out of it.
    """
    path: list[str] = []
    problem: Any = fields
    while isinstance(problem, dict):
        name, problem = next(iter(problem.items()))
        if not str(name).startswith("_"):
            path.append(str(name))
    text = problem[0] if isinstance(problem, list) and problem else problem
    return f"{'.'.join(path)}: {text}" if path else str(text)
