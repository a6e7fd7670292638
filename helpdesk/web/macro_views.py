"""Macros in the agent UI: the list and form to manage them, and applying one on the
conversation page (its text goes into the reply box, or is sent at once)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.auth.guard import current_principal, requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.extensions import db
from helpdesk.models import Conversation, ConversationStatus, Macro, Priority
from helpdesk.placeholders import NAMES
from helpdesk.services import macros
from helpdesk.services.macros import TAG_ACTIONS
from helpdesk.uow import UnitOfWork
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, run_action, save_form

MANAGE = Permission.MACROS_WRITE


@bp.get("/macros")
@requires(MANAGE)
def macros_page() -> ResponseReturnValue:
    return render_template("web/macros.html", placeholders=NAMES,
                           macros=macros.visible_macros(db.session, current_user.id))


@bp.get("/macros/new")
@requires(MANAGE)
def new_macro() -> ResponseReturnValue:
    return _form(None, {"shared": request.args.get("shared") == "1" and _may_share()})


@bp.post("/macros/new")
@requires(MANAGE)
def create_macro() -> ResponseReturnValue:
    return save_form(lambda uow: macros.create_macro(
        uow, current_actor(), shared="shared" in request.form, may_share=_may_share(),
        **_form_fields()), _("Macro created."), url_for("web.macros_page"),
        lambda: _form(None, _typed()))


@bp.get("/macros/<int:macro_id>")
@requires(MANAGE)
def edit_macro(macro_id: int) -> ResponseReturnValue:
    macro = macros.visible_macro(db.session, current_user.id, macro_id)
    return _form(macro, _values_of(macro))


@bp.post("/macros/<int:macro_id>")
@requires(MANAGE)
def save_macro(macro_id: int) -> ResponseReturnValue:
    return save_form(lambda uow: macros.update_macro(
        uow, current_actor(), macro_id, may_share=_may_share(), **_form_fields()),
        _("Macro saved."), url_for("web.macros_page"),
        lambda: _form(macros.visible_macro(db.session, current_user.id, macro_id), _typed()))


@bp.post("/macros/<int:macro_id>/delete")
@requires(MANAGE)
def delete_macro(macro_id: int) -> ResponseReturnValue:
    return run_action(lambda uow: macros.delete_macro(uow, current_actor(), macro_id,
                                                      may_share=_may_share()),
                      _("Macro deleted."), url_for("web.macros_page"))


@bp.post("/conversations/<int:conversation_id>/macro")
@requires(Permission.CONVERSATIONS_WRITE)
def apply_macro(conversation_id: int) -> ResponseReturnValue:
    """Apply the chosen macro's actions; its text is sent (``send``) or put in the reply
    box of the page this redirects to."""
    send = request.form.get("send") == "1"
    macro_id = request.form.get("macro_id", "")

    def apply(uow: UnitOfWork) -> None:
        if not macro_id.isdigit():
            raise ValidationFailed(_("Choose a macro."), field="macro_id")
        macros.apply_macro(uow, current_actor(), conversation_id, int(macro_id), send=send)
    args = {} if send or not macro_id.isdigit() else {"macro": macro_id}
    back = url_for("web.conversation", conversation_id=conversation_id, **args)
    done = _("Macro applied and reply sent.") if send else _(
        "Macro applied: check its text in the reply box, then send it.")
    return run_action(apply, done, back + ("" if send else "#composer-body"))


@bp.app_template_global()
def usable_macros() -> list[Macro]:
    """The macros the signed-in agent may apply (shared and their own)."""
    return macros.visible_macros(db.session, current_user.id)


@bp.app_template_global()
def macro_draft(conversation: Conversation) -> str:
    """The text of the macro just applied (``?macro=<id>``) for the reply box, else ""."""
    macro_id = request.args.get("macro", "")
    if not macro_id.isdigit():
        return ""
    try:
        macro = macros.visible_macro(db.session, current_user.id, int(macro_id))
    except DomainError:
        return ""
    return macros.render_for(db.session, macro, conversation, current_user.id)


def _may_share() -> bool:
    principal = current_principal()
    return principal is not None and principal.can(Permission.MACROS_MANAGE)


def _form_fields() -> dict[str, Any]:
    """The macro as typed: the service checks the text's placeholders and the actions."""
    form = request.form
    actions: dict[str, Any] = {"status": form.get("status", ""),
                               "priority": form.get("priority", "")}
    for key in TAG_ACTIONS:
        actions[key] = form.get(key, "").split(",")
    return {"name": form.get("name", ""), "body": form.get("body", "").replace("\r\n", "\n"),
            "actions": actions}


def _values_of(macro: Macro) -> dict[str, Any]:
    return {"name": macro.name, "body": macro.body, "shared": macro.shared,
            **{key: ", ".join(macro.actions.get(key, [])) for key in TAG_ACTIONS},
            "status": macro.actions.get("status", ""),
            "priority": macro.actions.get("priority", "")}


def _form(macro: Macro | None, values: dict[str, Any]) -> str:
    return render_template("web/macro_form.html", macro=macro, values=values,
                           placeholders=NAMES, statuses=list(ConversationStatus),
                           priorities=list(Priority), may_share=_may_share())


def _typed() -> dict[str, Any]:
    """The form as typed, to show it again after an error."""
    form = request.form
    values = {key: form.get(key, "") for key in ("name", "body", "status", "priority",
                                                 *TAG_ACTIONS)}
    return values | {"shared": "shared" in form}
