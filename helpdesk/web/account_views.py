"""The signed-in user's own settings: language and presence.

Writes go to ``/account/<user_id>/…`` and need ``account:manage``, which every role holds
on its own account (the guard compares ``user_id``); an admin holds it on every account.
"""

from __future__ import annotations

from flask import current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import ValidationFailed
from helpdesk.models import Presence
from helpdesk.services import staff
from helpdesk.uow import UnitOfWork
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, form_enum, run_action, safe_next


@bp.get("/account")
@requires(Permission.USERS_READ)  # every staff role holds it; the page shows their own account
def account() -> ResponseReturnValue:
    return render_template("web/account.html")


@bp.post("/account/<int:user_id>/locale")
@requires(Permission.ACCOUNT_MANAGE)
def set_locale(user_id: int) -> ResponseReturnValue:
    def save(uow: UnitOfWork) -> None:
        staff.update_user(uow, current_actor(), user_id, locale=_chosen_locale())
    return run_action(save, _("Language saved."), _back())


@bp.post("/account/<int:user_id>/presence")
@requires(Permission.ACCOUNT_MANAGE)
def set_presence(user_id: int) -> ResponseReturnValue:
    def save(uow: UnitOfWork) -> None:
        staff.set_presence(uow, current_actor(), user_id, form_enum(Presence, "presence"))
    return run_action(save, _("Presence saved."), _back())


def _chosen_locale() -> str | None:
    """One of the configured languages, or None to follow the browser."""
    locale = request.form.get("locale", "")
    if locale and locale not in current_app.config["COMPTOIR"].languages:
        raise ValidationFailed(_("This language is not available."), field="locale")
    return locale or None


def _back() -> str:
    return safe_next(request.form.get("next"), url_for("web.account"))
