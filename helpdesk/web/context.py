"""What every template can use: the locale, labels, permissions, time formatting."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import format_datetime, format_timedelta, get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from helpdesk.auth.guard import current_principal
from helpdesk.auth.policy import Permission
from helpdesk.models import CONSENT_FLAGS, Presence
from helpdesk.orm import utcnow
from helpdesk.web import bp
from helpdesk.web.labels import LABELS, label, language_name

JUST_NOW = timedelta(minutes=1)

bp.add_app_template_global(label)


@bp.app_context_processor
def template_context() -> dict[str, Any]:
    return {"locale_code": str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
            "languages": _languages(), "presences": list(Presence),
            "consent_flags": CONSENT_FLAGS, "handoff_reasons": LABELS["handoff"].keys()}


@bp.app_template_global()
def can(permission: str) -> bool:
    """Whether the signed-in user holds ``permission`` (hides links they could not follow)."""
    principal = current_principal()
    return principal is not None and principal.can(Permission(permission))


@bp.app_template_filter("when")
def when(moment: datetime | None) -> Markup:
    """A relative time ("5 minutes ago") with the exact one on hover, in a <time> element."""
    if moment is None:
        return Markup("")
    age = moment - utcnow()  # negative for the past, as format_timedelta wants it
    relative = (_("just now") if abs(age) < JUST_NOW
                else format_timedelta(age, add_direction=True))
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        moment.isoformat(), format_datetime(moment, "medium"), relative)


def _languages() -> list[tuple[str, str]]:
    return [(code, language_name(code)) for code in current_app.config["COMPTOIR"].languages]
