"""Custom fields in the agent UI: admins define them for conversations, customers and
organisations; agents fill them in on those pages."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.models import CustomFieldDefinition, FieldSubject, FieldType
from helpdesk.services import conversations, custom_fields
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, run_action, save_form

MANAGE = Permission.FIELDS_MANAGE
TYPE_LABELS = {"text": _l("Text"), "number": _l("Number"), "date": _l("Date"),
               "select": _l("Choice from a list"), "checkbox": _l("Checkbox")}
SUBJECT_LABELS = {"conversation": _l("Conversation fields"),
                  "customer": _l("Customer attributes"),
                  "organisation": _l("Organisation attributes")}


@bp.get("/custom-fields")
@requires(MANAGE)
def custom_fields_page() -> ResponseReturnValue:
    subject = request.args.get("subject", FieldSubject.CONVERSATION.value)
    return _page(None, {"type": FieldType.TEXT.value, "position": "0", "subject": subject})


@bp.post("/custom-fields")
@requires(MANAGE)
def create_custom_field() -> ResponseReturnValue:
    def create(uow: UnitOfWork) -> None:
        custom_fields.create_field(uow, current_actor(), key=request.form.get("key", ""),
                                   type=request.form.get("type", ""),
                                   subject=request.form.get("subject") or "conversation",
                                   **_form_fields())
    return save_form(create, _("Field created."), url_for("web.custom_fields_page"),
                     lambda: _page(None, _typed()))


@bp.get("/custom-fields/<int:field_id>")
@requires(MANAGE)
def edit_custom_field(field_id: int) -> ResponseReturnValue:
    definition = get_or_404(db.session, CustomFieldDefinition, field_id)
    return _page(definition, {"label": definition.label, "options": "\n".join(definition.options),
                              "required_on_solve": definition.required_on_solve,
                              "position": str(definition.position)})


@bp.post("/custom-fields/<int:field_id>")
@requires(MANAGE)
def save_custom_field(field_id: int) -> ResponseReturnValue:
    return save_form(
        lambda uow: custom_fields.update_field(uow, current_actor(), field_id,
                                               **_form_fields()),
        _("Field saved."), url_for("web.custom_fields_page"),
        lambda: _page(get_or_404(db.session, CustomFieldDefinition, field_id), _typed()))


@bp.post("/custom-fields/<int:field_id>/delete")
@requires(MANAGE)
def delete_custom_field(field_id: int) -> ResponseReturnValue:
    return run_action(lambda uow: custom_fields.delete_field(uow, current_actor(), field_id),
                      _("Field deleted."), url_for("web.custom_fields_page"))


@bp.post("/conversations/<int:conversation_id>/custom-fields")
@requires(Permission.CONVERSATIONS_WRITE)
def set_custom_fields(conversation_id: int) -> ResponseReturnValue:
    """Save every field shown on the conversation page (an empty one is cleared)."""
    def save(uow: UnitOfWork) -> None:
        conversations.update_conversation(
            uow, current_actor(), conversation_id,
            custom_fields=submitted_values(uow.session, FieldSubject.CONVERSATION))
    return run_action(save, _("Fields saved."),
                      url_for("web.conversation", conversation_id=conversation_id))


@bp.app_template_global()
def custom_field_definitions(subject: str = FieldSubject.CONVERSATION,
                             ) -> list[CustomFieldDefinition]:
    return custom_fields.definitions(db.session, FieldSubject(subject))


def submitted_values(session: Session, subject: FieldSubject) -> dict[str, Any]:
    """Every field of ``subject`` as typed in a form (inputs named ``field-<key>``), checked;
    an empty one is ``None`` (cleared)."""
    return {d.key: custom_fields.form_value(d, request.form.get(f"field-{d.key}"))
            for d in custom_fields.definitions(session, subject)}


def _page(definition: CustomFieldDefinition | None, values: dict[str, Any]) -> str:
    """The list with the form to add a field, or the form to edit ``definition``."""
    fields = {subject: custom_fields.definitions(db.session, subject)
              for subject in FieldSubject}
    return render_template("web/custom_fields.html", definition=definition, values=values,
                           fields=fields, types=TYPE_LABELS, subjects=SUBJECT_LABELS)


def _form_fields() -> dict[str, Any]:
    """What can change on a field, as typed (the service checks it); options one a line."""
    form = request.form
    position = form.get("position", "").strip() or "0"
    if not position.isdigit():
        raise ValidationFailed(_("The position is a whole number."), field="position")
    return {"label": form.get("label", ""), "options": form.get("options", "").splitlines(),
            "required_on_solve": "required_on_solve" in form, "position": int(position)}


def _typed() -> dict[str, Any]:
    form = request.form
    return {name: form.get(name, "") for name in ("subject", "key", "label", "type",
                                                  "options", "position")} | {
        "required_on_solve": "required_on_solve" in form}
