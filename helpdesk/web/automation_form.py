"""The rule form: a rule as rows of text the admin edits, and back to the rule's fields.

Conditions are rows (field, operator, value) joined by "all" or "any"; a rule whose
conditions nest groups (made through the API) is edited as JSON instead. Actions are rows
(type, value, text). Queues are named by name (a blank queue condition: no queue) and
agents by email in the form, by id in the rule; ``in`` values and tags are comma-separated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from helpdesk.automation.actions import ActionType
from helpdesk.automation.conditions import Field, Op
from helpdesk.errors import ValidationFailed
from helpdesk.models import Rule
from helpdesk.web.directory import Directory

UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}
A = ActionType
# What an action row's value and text stand for, by type.
VALUE_PARAMETER = {A.SET_QUEUE: "queue_id", A.SET_PRIORITY: "priority", A.SET_STATUS: "status",
                   A.ADD_TAGS: "tags", A.REMOVE_TAGS: "tags", A.ASSIGN: "agent_id",
                   A.NOTIFY: "user_ids"}
TEXT_PARAMETER = {A.SET_STATUS: "message", A.ADD_NOTE: "body", A.NOTIFY: "text"}


def values_of(rule: Rule, directory: Directory) -> dict[str, Any]:
    """The rule as the form shows it."""
    [(match, items)] = (rule.conditions or {"all": []}).items()
    nested = any("field" not in item for item in items)
    amount, unit = delay_in_units(rule.delay_minutes)
    return {"name": rule.name, "description": rule.description, "trigger": rule.trigger.value,
            "delay_amount": amount, "delay_unit": unit, "active": rule.active,
            "position": str(rule.position), "match": match,
            "conditions": [] if nested else [_condition_row(i, directory) for i in items],
            "conditions_json": json.dumps(rule.conditions, indent=2) if nested else "",
            "actions": [_action_row(a, directory) for a in rule.actions]}


def typed_values(form: Mapping[str, str]) -> dict[str, Any]:
    """The form as typed (to show again after an error, and to read)."""
    scalars = {key: form.get(key, "").strip() for key in (
        "name", "description", "trigger", "delay_amount", "delay_unit", "position", "match",
        "conditions_json")}
    return scalars | {"active": "active" in form,
                      "conditions": _rows(form, "cond", ("field", "op", "value")),
                      "actions": _rows(form, "act", ("type", "value", "text", "assignee"))}


def fields_of(values: dict[str, Any], directory: Directory) -> dict[str, Any]:
    """The rule's fields for the service, from the form's values (blank rows left out)."""
    return {"name": values["name"], "description": values["description"],
            "trigger": values["trigger"], "active": values["active"],
            "delay_minutes": _delay_minutes(values), "position": _whole(values["position"],
                                                                        "position") or 0,
            "conditions": _conditions(values, directory),
            "actions": [_action(row, i, directory) for i, row in enumerate(
                r for r in values["actions"] if r["type"])]}


def _rows(form: Mapping[str, str], prefix: str, names: tuple[str, ...]) -> list[dict[str, Any]]:
    rows, index = [], 0
    while f"{prefix}-{index}-{names[0]}" in form:
        rows.append({name: form.get(f"{prefix}-{index}-{name}", "").strip() for name in names})
        index += 1
    return rows


def delay_in_units(minutes: int | None) -> tuple[str, str]:
    """A delay as the form shows it: the largest whole unit (blank: no delay)."""
    if minutes is None:
        return "", "hours"
    unit = next(u for u in ("days", "hours", "minutes") if minutes % UNITS[u] == 0)
    return str(minutes // UNITS[unit]), unit


def _delay_minutes(values: dict[str, Any]) -> int | None:
    amount = _whole(values["delay_amount"], "delay_minutes")
    if amount is None:
        return None
    return amount * UNITS.get(values["delay_unit"], 1)


def _whole(text: str, field: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise ValidationFailed(_("%(field)s: a whole number, not %(value)s", field=field,
                                 value=text), field=field)
    return int(text)


# --- conditions ----------------------------------------------------------------------------

def _condition_row(item: dict[str, Any], directory: Directory) -> dict[str, str]:
    values = item["value"] if isinstance(item["value"], list) else [item["value"]]
    if item["field"] == Field.QUEUE:
        values = [directory.queue_name(v) if v is not None else "" for v in values]
    return {"field": item["field"], "op": item["op"], "value": ", ".join(map(str, values))}


def _conditions(values: dict[str, Any], directory: Directory) -> Any:
    if values["conditions_json"]:
        try:
            return json.loads(values["conditions_json"])
        except ValueError as exc:
            raise ValidationFailed(_("conditions: not valid JSON (%(error)s)", error=exc),
                                   field="conditions") from None
    match = values["match"] if values["match"] in ("all", "any") else "all"
    rows = [r for r in values["conditions"] if r["field"]]
    return {match: [_condition(r, f"conditions.{match}[{i}].value", directory)
                    for i, r in enumerate(rows)]}


def _condition(row: dict[str, str], path: str, directory: Directory) -> dict[str, Any]:
    field = row["field"]
    if row["op"] == Op.IN:
        value: Any = [_queue_or_text(field, v, path, directory) for v in _split(row["value"])]
    else:
        value = _queue_or_text(field, row["value"], path, directory)
    return {"field": field, "op": row["op"], "value": value}


def _queue_or_text(field: str, text: str, path: str, directory: Directory) -> Any:
    """A queue condition's value by name (blank: no queue), or the text as typed."""
    if field != Field.QUEUE:
        return text
    return _queue_id(text, path, directory) if text else None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# --- actions -------------------------------------------------------------------------------

def _action_row(action: dict[str, Any], directory: Directory) -> dict[str, Any]:
    kind = ActionType(action["type"])
    value = action.get(VALUE_PARAMETER.get(kind, ""), "")
    if kind == A.SET_QUEUE:
        value = directory.queue_name(value)
    elif kind in (A.ASSIGN, A.NOTIFY):
        value = ", ".join(_email(directory, u) for u in (value if kind == A.NOTIFY else [value]))
    elif kind in (A.ADD_TAGS, A.REMOVE_TAGS):
        value = ", ".join(value)
    return {"type": kind.value, "value": value, "text": action.get(TEXT_PARAMETER.get(kind, ""),
                                                                    ""),
            "assignee": action.get("assignee", False)}


def _action(row: dict[str, Any], index: int, directory: Directory) -> dict[str, Any]:
    kind, path = row["type"], f"actions[{index}]"
    action: dict[str, Any] = {"type": kind}
    parameter = VALUE_PARAMETER.get(kind)  # an unknown type: the service names it
    if parameter and (row["value"] or kind != A.NOTIFY):
        action[parameter] = _action_value(kind, row["value"], f"{path}.{parameter}", directory)
    if kind in TEXT_PARAMETER and (row["text"] or kind != A.SET_STATUS):
        action[TEXT_PARAMETER[kind]] = row["text"]
    if kind == A.NOTIFY and row["assignee"]:
        action["assignee"] = True
    return action


def _action_value(kind: str, text: str, path: str, directory: Directory) -> Any:
    if kind == A.SET_QUEUE:
        return _queue_id(text, path, directory)
    if kind == A.ASSIGN:
        return _user_id(text, path, directory)
    if kind == A.NOTIFY:
        return [_user_id(part, path, directory) for part in _split(text)]
    if kind in (A.ADD_TAGS, A.REMOVE_TAGS):
        return _split(text)
    return text


def _queue_id(name: str, path: str, directory: Directory) -> int:
    found = [q.id for q in directory.queues.values() if q.name.casefold() == name.casefold()]
    if not found:
        raise ValidationFailed(_("%(path)s: no queue is named %(name)s", path=path,
                                 name=name or "…"), field=path)
    return found[0]


def _user_id(email: str, path: str, directory: Directory) -> int:
    found = [u.id for u in directory.users.values() if u.email.casefold() == email.casefold()]
    if not found:
        raise ValidationFailed(_("%(path)s: no staff member has the email %(email)s",
                                 path=path, email=email or "…"), field=path)
    return found[0]


def _email(directory: Directory, user_id: int) -> str:
    user = directory.users.get(user_id)
    return user.email if user else str(user_id)
