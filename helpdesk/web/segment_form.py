"""The segment form: conditions as rows (field, key, operator, value, days) joined by "all"
or "any", and back. A segment whose conditions nest groups (made through the API) is edited
as JSON instead. ``in`` values are comma-separated; yes/no answer true/false conditions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from helpdesk.errors import ValidationFailed
from helpdesk.models import Segment
from helpdesk.services.segments import Field, Op

ROW_NAMES = ("field", "key", "op", "value", "days")
BLANK_ROWS = 3
YES, NO = {"yes", "true", "oui", "1"}, {"no", "false", "non", "0"}
NUMBERS = {Field.CONTACTS.value, Field.LAST_CSAT.value}
FLAGS = {Field.CONSENT.value, Field.OPEN_CONVERSATION.value}
LABELS = {
    "field": {Field.LANGUAGE: _l("Language"), Field.TIMEZONE: _l("Time zone"),
              Field.ATTRIBUTE: _l("Attribute (key)"), Field.CONSENT: _l("Consent (flag)"),
              Field.EMAIL_DOMAIN: _l("Email domain"),
              Field.CONTACTS: _l("Conversations opened (in the last days)"),
              Field.LAST_CSAT: _l("Latest satisfaction rating"),
              Field.OPEN_CONVERSATION: _l("Has an open conversation"),
              Field.CHANNEL_USED: _l("Channel used (in the last days)")},
    "op": {Op.IS: _l("is"), Op.IS_NOT: _l("is not"), Op.IN: _l("is one of"),
           Op.CONTAINS: _l("contains"), Op.STARTS_WITH: _l("starts with"),
           Op.EXISTS: _l("is filled in (yes/no)"), Op.GT: _l("more than"),
           Op.GTE: _l("at least"), Op.LT: _l("less than"), Op.LTE: _l("at most")},
}


def segment_label(kind: str, value: object) -> Any:
    """The translated name of a condition's field or operator."""
    key = str(getattr(value, "value", value))
    return LABELS[kind].get(key, key)


def values_of(segment: Segment) -> dict[str, Any]:
    """The segment as the form shows it."""
    [(match, items)] = (segment.conditions or {"all": []}).items()
    nested = any("field" not in item for item in items)
    return {"name": segment.name, "description": segment.description, "match": match,
            "rows": [] if nested else [_row(item) for item in items],
            "conditions_json": json.dumps(segment.conditions, indent=2) if nested else ""}


def typed_values(form: Mapping[str, str]) -> dict[str, Any]:
    """The form as typed (to show again after an error, and to read)."""
    rows, index = [], 0
    while f"cond-{index}-field" in form:
        rows.append({name: form.get(f"cond-{index}-{name}", "").strip() for name in ROW_NAMES})
        index += 1
    return {key: form.get(key, "").strip() for key in (
        "name", "description", "match", "conditions_json")} | {"rows": rows}


def with_blank_rows(values: dict[str, Any]) -> list[dict[str, str]]:
    return [*values["rows"], *[dict.fromkeys(ROW_NAMES, "")] * BLANK_ROWS]


def conditions_of(values: dict[str, Any]) -> Any:
    """The conditions for the service (which checks them), from the JSON or the rows."""
    if values["conditions_json"]:
        try:
            return json.loads(values["conditions_json"])
        except ValueError as exc:
            raise ValidationFailed(_("conditions: not valid JSON (%(error)s)", error=exc),
                                   field="conditions") from None
    match = values["match"] if values["match"] in ("all", "any") else "all"
    return {match: [_condition(row) for row in values["rows"] if row["field"]]}


def _row(item: dict[str, Any]) -> dict[str, str]:
    values = item["value"] if isinstance(item["value"], list) else [item["value"]]
    shown = [("yes" if v else "no") if isinstance(v, bool) else str(v) for v in values]
    return {"field": item["field"], "key": item.get("key", ""), "op": item["op"],
            "value": ", ".join(shown), "days": str(item.get("days", ""))}


def _condition(row: dict[str, str]) -> dict[str, Any]:
    texts = ([p.strip() for p in row["value"].split(",") if p.strip()]
             if row["op"] == Op.IN else [row["value"]])
    values = [_typed(row, text) for text in texts]
    condition = {"field": row["field"], "op": row["op"],
                 "value": values if row["op"] == Op.IN else values[0]}
    if row["key"]:
        condition["key"] = row["key"]
    if row["days"]:
        condition["days"] = int(row["days"]) if row["days"].isdigit() else row["days"]
    return condition


def _typed(row: dict[str, str], text: str) -> Any:
    """A number for the number fields, true/false for yes/no questions, else the text (the
    service names whatever does not fit)."""
    if row["field"] in NUMBERS and text.isdigit():
        return int(text)
    if (row["field"] in FLAGS or row["op"] == Op.EXISTS) and text.lower() in YES | NO:
        return text.lower() in YES
    return text
