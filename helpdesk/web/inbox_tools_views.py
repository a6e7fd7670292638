"""The inbox's tools: a bulk action on the selected conversations, saving the current
filters as a view, deleting a view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.extensions import unit_of_work
from helpdesk.models import ConversationStatus, Priority
from helpdesk.services import bulk, saved_views
from helpdesk.services.bulk import BulkAction, BulkChange, ItemResult
from helpdesk.uow import UnitOfWork
from helpdesk.web import bp
from helpdesk.web.actions import (
    ERROR_TEXT,
    current_actor,
    error_text,
    form_enum,
    form_optional_id,
    run_action,
    safe_next,
)
from helpdesk.web.context import can
from helpdesk.web.inbox_views import InboxQuery

FAILURES_SHOWN = 5
# What each action reads from the form.
ACTION_VALUES: dict[BulkAction, Callable[[], dict[str, Any]]] = {
    BulkAction.ASSIGN: lambda: {"assignee_id": form_optional_id("assignee_id")},
    BulkAction.STATUS: lambda: {"status": form_enum(ConversationStatus, "status")},
    BulkAction.PRIORITY: lambda: {"priority": form_enum(Priority, "priority")},
    BulkAction.QUEUE: lambda: {"queue_id": form_optional_id("queue_id")},
    BulkAction.ADD_TAG: lambda: {"tag": request.form.get("tag", "").strip() or None},
}


@bp.post("/conversations/bulk")
@requires(Permission.CONVERSATIONS_WRITE)
def bulk_action() -> ResponseReturnValue:
    """Apply one action to the conversations ticked in the list; say what failed."""
    back = safe_next(request.form.get("next"), url_for("web.inbox"))
    try:
        ids, change = _selected_ids(), _bulk_change()
        with unit_of_work() as uow:
            results = bulk.apply(uow, current_actor(), ids, change)
    except DomainError as exc:
        flash(error_text(exc), "error")
        return redirect(back)
    _flash_results(results)
    return redirect(back)


@bp.post("/views")
@requires(Permission.CONVERSATIONS_READ)
def create_saved_view() -> ResponseReturnValue:
    """Save the inbox's current filters under a name (shared: for every agent)."""
    query = InboxQuery.from_args(request.form)

    def save(uow: UnitOfWork) -> None:
        saved_views.create_view(uow, current_actor(), name=request.form.get("name", ""),
                                filters=query.view_filters(),
                                shared=request.form.get("shared") == "1",
                                may_share=can(Permission.VIEWS_MANAGE))
    return run_action(save, _("View saved."), url_for("web.inbox", **query.args(page=1)))


@bp.post("/views/<int:view_id>/delete")
@requires(Permission.CONVERSATIONS_READ)
def delete_saved_view(view_id: int) -> ResponseReturnValue:
    def delete(uow: UnitOfWork) -> None:
        saved_views.delete_view(uow, current_actor(), view_id,
                                may_share=can(Permission.VIEWS_MANAGE))
    return run_action(delete, _("View deleted."), url_for("web.inbox"))


def _selected_ids() -> list[int]:
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit() and len(v) < 10]
    if not ids:
        raise ValidationFailed(_("Select at least one conversation."), field="ids")
    return ids


def _bulk_change() -> BulkChange:
    action = form_enum(BulkAction, "action")
    return BulkChange(action, **ACTION_VALUES[action]())


def _flash_results(results: list[ItemResult]) -> None:
    done = sum(r.ok for r in results)
    if done:
        flash(ngettext("%(num)d conversation updated.", "%(num)d conversations updated.",
                       done), "success")
    failed = [r for r in results if not r.ok]
    for result in failed[:FAILURES_SHOWN]:
        headline = ERROR_TEXT.get(result.code or "", _("That could not be saved."))
        flash(_("#%(id)s: %(headline)s (%(detail)s)", id=result.conversation_id,
                headline=headline, detail=result.error), "error")
    if len(failed) > FAILURES_SHOWN:
        flash(_("%(num)d more could not be updated.", num=len(failed) - FAILURES_SHOWN),
              "error")
