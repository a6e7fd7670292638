"""Custom field values checked against their definition, for each type (no database)."""

import pytest

from helpdesk.errors import ValidationFailed
from helpdesk.models import CustomFieldDefinition, FieldType
from helpdesk.services.custom_fields import checked_value, form_value, is_empty


def field(field_type: FieldType, options=()) -> CustomFieldDefinition:
    return CustomFieldDefinition(key="order_ref", label="Order", type=field_type,
                                 options=list(options))


@pytest.mark.parametrize(("field_type", "value", "stored"), [
    (FieldType.TEXT, "  A-12 ", "A-12"),
    (FieldType.TEXT, "   ", None),
    (FieldType.NUMBER, 3, 3),
    (FieldType.NUMBER, 2.5, 2.5),
    (FieldType.DATE, "2026-02-28", "2026-02-28"),
    (FieldType.CHECKBOX, True, True),
    (FieldType.CHECKBOX, False, False),
    (FieldType.TEXT, None, None),
])
def test_accepted_values(field_type, value, stored):
    assert checked_value(field(field_type), value) == stored


def test_a_select_takes_one_of_its_options():
    assert checked_value(field(FieldType.SELECT, ["dhl", "ups"]), "ups") == "ups"


@pytest.mark.parametrize(("field_type", "value", "problem"), [
    (FieldType.TEXT, 12, "must be text"),
    (FieldType.TEXT, "x" * 1001, "at most 1000"),
    (FieldType.NUMBER, "12", "must be a number"),
    (FieldType.NUMBER, True, "must be a number"),
    (FieldType.NUMBER, float("nan"), "must be a number"),
    (FieldType.DATE, "2026-02-30", "YYYY-MM-DD"),
    (FieldType.DATE, "28/02/2026", "YYYY-MM-DD"),
    (FieldType.DATE, "2026-02-28T10:00", "YYYY-MM-DD"),
    (FieldType.CHECKBOX, "yes", "true or false"),
    (FieldType.SELECT, "fedex", "one of dhl, ups"),
])
def test_refused_values_name_the_field(field_type, value, problem):
    with pytest.raises(ValidationFailed) as refused:
        checked_value(field(field_type, ["dhl", "ups"]), value)
    assert refused.value.field == "custom_fields.order_ref"
    assert refused.value.message.startswith("Order (order_ref): ")
    assert problem in refused.value.message


@pytest.mark.parametrize(("field_type", "raw", "stored"), [
    (FieldType.NUMBER, "12", 12),
    (FieldType.NUMBER, "2,5", 2.5),
    (FieldType.NUMBER, "", None),
    (FieldType.CHECKBOX, "on", True),
    (FieldType.CHECKBOX, None, False),
    (FieldType.DATE, "2026-01-31", "2026-01-31"),
    (FieldType.TEXT, " x ", "x"),
])
def test_form_values_are_typed(field_type, raw, stored):
    assert form_value(field(field_type), raw) == stored


def test_a_form_number_that_is_not_one_is_refused():
    with pytest.raises(ValidationFailed, match="must be a number"):
        form_value(field(FieldType.NUMBER), "twelve")


def test_a_checkbox_is_filled_in_only_when_ticked_a_zero_is_a_value():
    assert is_empty(field(FieldType.CHECKBOX), False)
    assert not is_empty(field(FieldType.CHECKBOX), True)
    assert not is_empty(field(FieldType.NUMBER), 0)
    assert is_empty(field(FieldType.TEXT), None)
