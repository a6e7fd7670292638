"""The signed-in user's notifications: the bell in the top bar (its count follows the
``notification`` event live), the list, and marking them read.

Writes go to ``/account/<user_id>/notifications/…`` and need ``account:manage``, which
everyone holds on their own account (as the other account settings).
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Notification
from helpdesk.services import notifications
from helpdesk.web import bp
from helpdesk.web.actions import run_action, safe_next

KINDS = {"mention": _l("Mention"), "sla_warning": _l("SLA warning"),
         "sla_breach": _l("SLA breach"), "rule": _l("Rule")}


@bp.get("/notifications")
@requires(Permission.USERS_READ)  # every staff role holds it; the page lists their own
def notifications_page() -> ResponseReturnValue:
    return render_template("web/notifications.html",
                           items=notifications.unread(db.session, current_user.id))


@bp.post("/account/<int:user_id>/notifications/read")
@requires(Permission.ACCOUNT_MANAGE)
def mark_notifications_read(user_id: int) -> ResponseReturnValue:
    """Mark the notifications listed in the form (``id``, repeated) read."""
    ids = [int(i) for i in request.form.getlist("id") if i.isdigit()]
    back = safe_next(request.form.get("next"), url_for("web.notifications_page"))
    return run_action(lambda uow: notifications.mark_read(uow, user_id, ids),
                      _("Marked as read."), back)


@bp.post("/account/<int:user_id>/notifications/<int:notification_id>/open")
@requires(Permission.ACCOUNT_MANAGE)
def open_notification(user_id: int, notification_id: int) -> ResponseReturnValue:
    """Mark one notification read and go to its conversation."""
    notification = db.session.get(Notification, notification_id)
    mine = notification is not None and notification.user_id == user_id
    with unit_of_work() as uow:
        notifications.mark_read(uow, user_id, [notification_id])
    if mine and notification.conversation_id:
        return redirect(url_for("web.conversation",
                                conversation_id=notification.conversation_id))
    return redirect(url_for("web.notifications_page"))


@bp.app_template_global()
def unread_notifications() -> int:
    """How many unread notifications the bell shows (counted up to the list's length)."""
    return len(notifications.unread(db.session, current_user.id))


@bp.app_template_global()
def notification_kind(kind: str) -> LazyString | str:
    return KINDS.get(kind) or _("Notification")
