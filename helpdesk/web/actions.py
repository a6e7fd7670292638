"""Form handling shared by the views: read a field, run one service, redirect (PRG)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

from flask import flash, redirect, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.events import Actor
from helpdesk.extensions import unit_of_work
from helpdesk.uow import UnitOfWork

E = TypeVar("E", bound=StrEnum)

ERROR_TEXT = {
    "invalid_transition": _l("This status change is not allowed."),
    "conflict": _l("That conflicts with the current state."),
    "not_found": _l("That no longer exists."),
    "validation_failed": _l("Please check what you entered."),
    "forbidden": _l("You are not allowed to do that."),
}


def current_actor() -> Actor:
    return Actor("agent", current_user.id)


def run_action(action: Callable[[UnitOfWork], object], done: str,
               back_to: str) -> ResponseReturnValue:
    """Run one service in a unit of work; flash its outcome and redirect to ``back_to``."""
    try:
        with unit_of_work() as uow:
            action(uow)
    except DomainError as exc:
        flash(error_text(exc), "error")
    else:
        flash(done, "success")
    return redirect(back_to)


def save_form(action: Callable[[UnitOfWork], object], done: str, back_to: str,
              form_again: Callable[[], str]) -> ResponseReturnValue:
    """Like ``run_action``, but a refused form is shown again (``form_again``: as typed)
    with the error, instead of redirecting."""
    try:
        with unit_of_work() as uow:
            action(uow)
    except DomainError as exc:
        flash(error_text(exc), "error")
        return form_again(), exc.status
    flash(done, "success")
    return redirect(back_to)


def error_text(exc: DomainError) -> str:
    """A translated headline, with the service's own detail after it."""
    headline = ERROR_TEXT.get(exc.code, _l("That could not be saved."))
    return _("%(headline)s (%(detail)s)", headline=headline, detail=exc.message)


def form_enum(enum: type[E], name: str) -> E:
    """The form field ``name`` as a member of ``enum``."""
    try:
        return enum(request.form.get(name, ""))
    except ValueError:
        raise ValidationFailed(_("Choose a valid value for %(field)s.", field=name),
                               field=name) from None


def form_optional_id(name: str) -> int | None:
    """An id chosen in a select; the empty choice means none."""
    value = request.form.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValidationFailed(_("Choose a valid value for %(field)s.", field=name), field=name)
    return int(value)


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site paths: an open redirect would let a link send agents anywhere."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) \
            and not urlsplit(target).netloc:
        return target
    return fallback
