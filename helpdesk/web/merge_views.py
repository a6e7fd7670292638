"""The conversation page's merge and split forms (helpdesk.services.merging)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.extensions import unit_of_work
from helpdesk.services import merging
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, error_text, form_optional_id
from helpdesk.web.context import can


@bp.post("/conversations/<int:conversation_id>/merge")
@requires(Permission.CONVERSATIONS_WRITE)
def merge(conversation_id: int) -> ResponseReturnValue:
    """Merge the conversation whose number was entered into this one."""
    here = url_for("web.conversation", conversation_id=conversation_id)
    try:
        with unit_of_work() as uow:
            merging.merge(uow, current_actor(), conversation_id, required_id("source_id"),
                          **_confirmation())
    except DomainError as exc:
        flash(error_text(exc), "error")
    else:
        flash(_("Conversation merged into this one."), "success")
    return redirect(here)


@bp.post("/conversations/<int:conversation_id>/split")
@requires(Permission.CONVERSATIONS_WRITE)
def split(conversation_id: int) -> ResponseReturnValue:
    """Move the chosen message (and the later ones) away; show where they went."""
    try:
        with unit_of_work() as uow:
            target_id = merging.split(
                uow, current_actor(), conversation_id, seq=required_id("seq"),
                following=request.form.get("following") == "1",
                target_id=form_optional_id("target_id"),
                subject=request.form.get("subject"), **_confirmation()).id
    except DomainError as exc:
        flash(error_text(exc), "error")
        return redirect(url_for("web.conversation", conversation_id=conversation_id))
    flash(_("Messages moved here from #%(id)s.", id=conversation_id), "success")
    return redirect(url_for("web.conversation", conversation_id=target_id))


def required_id(name: str) -> int:
    value = form_optional_id(name)
    if value is None:
        raise ValidationFailed(_("Choose a valid value for %(field)s.", field=name), field=name)
    return value


def _confirmation() -> dict[str, bool]:
    return {"confirm_other_customer": request.form.get("confirm_other_customer") == "1",
            "may_confirm": can(Permission.CUSTOMERS_MERGE)}
