"""Custom fields: admins define them for conversations, customers or organisations; the
values set on those are checked against them."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import Conversation, CustomFieldDefinition, FieldSubject, FieldType
from helpdesk.services.common import checked_enum, get_or_404
from helpdesk.uow import UnitOfWork

KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_TEXT = 1000
MAX_OPTION = 100
MAX_POSITION = 10_000
EDITABLE = ("label", "options", "required_on_solve", "position")  # subject, key, type: fixed
# Where each subject keeps its values (errors name the value as ``<field>.<key>``), and
# how its definitions are called.
VALUES_FIELD = {FieldSubject.CONVERSATION: "custom_fields", FieldSubject.CUSTOMER: "attributes",
                FieldSubject.ORGANISATION: "attributes"}
NOUN = {FieldSubject.CONVERSATION: "custom field", FieldSubject.CUSTOMER: "customer attribute",
        FieldSubject.ORGANISATION: "organisation attribute"}


def definitions(session: Session, subject: FieldSubject = FieldSubject.CONVERSATION,
                ) -> list[CustomFieldDefinition]:
    """The subject's field definitions, in display order."""
    return list(session.scalars(select(CustomFieldDefinition).where(
        CustomFieldDefinition.subject == subject).order_by(
        CustomFieldDefinition.position, CustomFieldDefinition.id)))


def create_field(uow: UnitOfWork, actor: Actor, *, key: str, label: str, type: str,
                 subject: str = FieldSubject.CONVERSATION, options: Iterable[str] = (),
                 required_on_solve: bool = False, position: int = 0) -> CustomFieldDefinition:
    """Define a field of a conversation, customer or organisation; its key
    (``order_number``) is how the API sends its value."""
    field_type = checked_enum(FieldType, type, "type")
    field_subject = checked_enum(FieldSubject, subject, "subject")
    definition = CustomFieldDefinition(
        subject=field_subject, key=_checked_key(uow.session, field_subject, key),
        type=field_type)
    _apply(definition, {"label": label, "options": list(options),
                        "required_on_solve": required_on_solve, "position": position})
    uow.session.add(definition)
    uow.session.flush()
    _audit(uow, actor, "custom_field.created", definition)
    uow.commit()
    return definition


def update_field(uow: UnitOfWork, actor: Actor, field_id: int,
                 **changes: Any) -> CustomFieldDefinition:
    """Change a definition's label, options, required flag or position."""
    definition = get_or_404(uow.session, CustomFieldDefinition, field_id, field="field_id")
    fixed = sorted(set(changes) - set(EDITABLE))
    if fixed:
        raise ValidationFailed(f"{fixed[0]} cannot be changed once the field exists",
                               field=fixed[0])
    _apply(definition, changes)
    _audit(uow, actor, "custom_field.updated", definition)
    uow.commit()
    return definition


def delete_field(uow: UnitOfWork, actor: Actor, field_id: int) -> None:
    """Remove a definition; values already stored stay in the conversations' history."""
    definition = get_or_404(uow.session, CustomFieldDefinition, field_id, field="field_id")
    _audit(uow, actor, "custom_field.deleted", definition)
    uow.session.delete(definition)
    uow.commit()


def set_values(uow: UnitOfWork, actor: Actor, conversation: Conversation,
               values: dict[str, Any]) -> None:
    """Set the given fields' values (``None`` clears one), other fields untouched.

    Every key must name a defined field and every value fit its type; the caller commits.
    """
    conversation.custom_fields, changes = merged_values(
        uow.session, FieldSubject.CONVERSATION, conversation.custom_fields, values)
    if changes:
        uow.record(events.CustomFieldsChanged(
            actor=actor, customer_id=conversation.customer_id, conversation_id=conversation.id,
            channel=conversation.channel.value, changes=changes))


def merged_values(session: Session, subject: FieldSubject, current: dict[str, Any],
                  values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``current`` with ``values`` set (``None`` clears one), and what changed.

    Every key must name one of the subject's fields and every value fit its type
    (ValidationFailed naming ``<values field>.<key>``); keys not given are kept as they are.
    """
    by_key = {d.key: d for d in definitions(session, subject)}
    unknown = sorted(set(values) - set(by_key))
    if unknown:
        raise ValidationFailed(f"no {NOUN[subject]} has the key {unknown[0]!r}",
                               field=f"{VALUES_FIELD[subject]}.{unknown[0]}")
    checked = {key: checked_value(by_key[key], value) for key, value in values.items()}
    changes = {k: v for k, v in checked.items() if current.get(k) != v}
    merged = {k: v for k, v in {**current, **checked}.items() if v is not None}
    return merged, changes


def check_required_on_solve(session: Session, conversation: Conversation) -> None:
    """Refuse to solve while a field required on solve is empty, naming the first one."""
    for definition in definitions(session):
        if definition.required_on_solve and is_empty(
                definition, conversation.custom_fields.get(definition.key)):
            raise ValidationFailed(
                f"{definition.label} ({definition.key}) must be filled in before solving",
                field=f"custom_fields.{definition.key}")


def is_empty(definition: CustomFieldDefinition, value: Any) -> bool:
    """No value; a checkbox counts as filled in only when ticked."""
    if definition.type == FieldType.CHECKBOX:
        return value is not True
    return value is None


def checked_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """``value`` as stored for this field, or ValidationFailed naming the field.

    Text is trimmed (empty clears it), numbers are JSON numbers, dates ``YYYY-MM-DD``,
    a select one of its options, a checkbox ``true``/``false``.
    """
    if value is None:
        return None
    try:
        return _VALIDATORS[definition.type](definition, value)
    except ValueError as problem:
        values_field = VALUES_FIELD[definition.subject or FieldSubject.CONVERSATION]
        raise ValidationFailed(f"{definition.label} ({definition.key}): {problem}",
                               field=f"{values_field}.{definition.key}") from None


def form_value(definition: CustomFieldDefinition, raw: str | None) -> Any:
    """A value typed in a web form (all text; an unticked box is absent) as the field's
    type, checked."""
    text = (raw or "").strip()
    if definition.type == FieldType.CHECKBOX:
        return raw is not None
    if not text:
        return None
    if definition.type == FieldType.NUMBER:
        return checked_value(definition, _number(text))
    return checked_value(definition, text)


# Each returns the value to store, or raises ValueError saying what is wrong with it.

def _text(_definition: CustomFieldDefinition, value: Any) -> str | None:
    if not isinstance(value, str):
        raise ValueError("must be text")
    if len(value.strip()) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    return value.strip() or None


def _number_value(_definition: CustomFieldDefinition, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("must be a number")
    return value


def _date(_definition: CustomFieldDefinition, value: Any) -> str:
    try:
        if isinstance(value, str) and len(value) == len("2026-01-31"):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise ValueError("must be a date written YYYY-MM-DD")


def _select(definition: CustomFieldDefinition, value: Any) -> str:
    if value not in definition.options:
        raise ValueError(f"must be one of {', '.join(definition.options)}")
    return value


def _checkbox(_definition: CustomFieldDefinition, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


_VALIDATORS = {FieldType.TEXT: _text, FieldType.NUMBER: _number_value, FieldType.DATE: _date,
               FieldType.SELECT: _select, FieldType.CHECKBOX: _checkbox}


def _number(text: str) -> int | float | str:
    """A typed number, or the text itself (refused by the check, which names the field)."""
    for parse in (int, float):
        try:
            return parse(text.replace(",", ".") if parse is float else text)
        except ValueError:
            continue
    return text


def _checked_key(session: Session, subject: FieldSubject, key: str) -> str:
    if not KEY.match(key):
        raise ValidationFailed("a key is a-z, digits and _, starting with a letter "
                               "(at most 64)", field="key")
    if session.scalar(select(CustomFieldDefinition.id).where(
            CustomFieldDefinition.subject == subject, CustomFieldDefinition.key == key)):
        raise Conflict(f"a {NOUN[subject]} already has the key {key!r}", field="key")
    return key


def _apply(definition: CustomFieldDefinition, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(definition, name, value)
    definition.label = definition.label.strip()
    if not definition.label:
        raise ValidationFailed("a field needs a label", field="label")
    definition.options = _checked_options(definition.type, definition.options)
    if definition.required_on_solve and definition.subject != FieldSubject.CONVERSATION:
        raise ValidationFailed("only a conversation field can be required to solve",
                               field="required_on_solve")
    if not 0 <= definition.position <= MAX_POSITION:
        raise ValidationFailed(f"the position is 0 to {MAX_POSITION}", field="position")


def _checked_options(field_type: FieldType, options: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(o.strip() for o in options if o.strip()))
    if field_type != FieldType.SELECT:
        if cleaned:
            raise ValidationFailed("only a select field has options", field="options")
        return []
    if not cleaned:
        raise ValidationFailed("a select field needs at least one option", field="options")
    if any(len(o) > MAX_OPTION for o in cleaned):
        raise ValidationFailed(f"an option is at most {MAX_OPTION} characters",
                               field="options")
    return cleaned


def _audit(uow: UnitOfWork, actor: Actor, action: str,
           definition: CustomFieldDefinition) -> None:
    uow.record(events.StaffChanged(
        actor=actor, action=action, target_type="custom_field", target_id=definition.id,
        details={"subject": definition.subject.value, "key": definition.key,
                 "label": definition.label,
                 "type": definition.type.value, "options": list(definition.options),
                 "required_on_solve": definition.required_on_solve}))
