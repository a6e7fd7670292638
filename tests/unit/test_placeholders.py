"""Macro texts: the fixed placeholder names, refused unknown ones, one-pass rendering."""

import pytest

from helpdesk import placeholders
from helpdesk.errors import ValidationFailed

VALUES = {"customer.name": "Ada", "customer.email": "ada@example.com", "agent.name": "Marie",
          "conversation.id": "42", "conversation.subject": "Parcel"}


def test_every_known_placeholder_is_filled_spaces_inside_the_braces_allowed():
    text = ("Hello {{customer.name}} ({{ customer.email }}), about #{{conversation.id}} "
            "«{{conversation.subject}}» — {{agent.name}}")
    placeholders.check_template(text)
    assert placeholders.render(text, VALUES) == (
        "Hello Ada (ada@example.com), about #42 «Parcel» — Marie")


def test_an_unknown_placeholder_is_refused_by_name_with_the_known_ones():
    with pytest.raises(ValidationFailed) as refused:
        placeholders.check_template("Hi {{customer.nam}} and {{ order.number }}")
    assert refused.value.field == "body"
    assert "{{customer.nam}}, {{order.number}}" in refused.value.message
    assert "{{customer.name}}" in refused.value.message  # the known ones are listed


def test_an_unclosed_placeholder_is_refused():
    with pytest.raises(ValidationFailed, match="not closed"):
        placeholders.check_template("Hi {{customer.name")


def test_text_without_placeholders_and_single_braces_pass_unchanged():
    placeholders.check_template("Use {code} or }} as you like")
    assert placeholders.render("Use {code}", VALUES) == "Use {code}"


def test_a_value_is_never_rendered_as_a_template_itself():
    values = {**VALUES, "customer.name": "{{agent.name}}"}
    assert placeholders.render("Hi {{customer.name}}", values) == "Hi {{agent.name}}"


def test_values_are_inserted_as_text_escaping_is_the_page_s():
    values = {**VALUES, "customer.name": "<script>alert(1)</script>"}
    assert placeholders.render("Hi {{customer.name}}", values) == (
        "Hi <script>alert(1)</script>")
