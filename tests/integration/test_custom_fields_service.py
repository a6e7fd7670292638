"""Custom field definitions, values set on a conversation, and the fields required to solve."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import unit_of_work
from helpdesk.models import Conversation, ConversationStatus, TimelineEvent
from helpdesk.services import conversations, custom_fields

AGENT = Actor("agent", None)


def define(app, **fields):
    with app.app_context(), unit_of_work() as uow:
        return custom_fields.create_field(uow, SYSTEM, **{"label": fields["key"].title(),
                                                           **fields})


def update(app, conversation_id, **values):
    with app.app_context(), unit_of_work() as uow:
        conversations.update_conversation(uow, AGENT, conversation_id, custom_fields=values)


def values_of(app, conversation_id):
    with app.app_context(), unit_of_work() as uow:
        return uow.session.get(Conversation, conversation_id).custom_fields


@pytest.fixture
def fields(app):
    define(app, key="order", type="text")
    define(app, key="amount", type="number")
    define(app, key="shipped_on", type="date")
    define(app, key="carrier", type="select", options=["DHL", "UPS", " DHL "])
    define(app, key="refund_ok", type="checkbox")


def test_values_of_each_type_are_stored_merged_and_cleared(app, make, fields):
    conv = make.conversation()
    update(app, conv.id, order="A-1", amount=12.5, shipped_on="2026-03-01", carrier="UPS",
           refund_ok=True)
    update(app, conv.id, order=None, amount=0)
    assert values_of(app, conv.id) == {"amount": 0, "shipped_on": "2026-03-01",
                                       "carrier": "UPS", "refund_ok": True}
    with app.app_context(), unit_of_work() as uow:
        changes = [e.payload["changes"] for e in uow.session.scalars(select(TimelineEvent).where(
            TimelineEvent.type == "conversation.custom_fields_changed"))]
    assert changes[-1] == {"order": None, "amount": 0}


def test_an_unknown_key_or_a_wrong_value_is_refused_naming_the_field(app, make, fields):
    conv = make.conversation()
    with pytest.raises(ValidationFailed) as refused:
        update(app, conv.id, order="A-1", colour="red")
    assert refused.value.field == "custom_fields.colour"
    with pytest.raises(ValidationFailed) as refused:
        update(app, conv.id, carrier="FedEx")
    assert (refused.value.field, refused.value.message) == (
        "custom_fields.carrier", "Carrier (carrier): must be one of DHL, UPS")
    assert values_of(app, conv.id) == {}


def test_a_required_field_blocks_solving_until_filled_in(app, make):
    define(app, key="order", type="text", required_on_solve=True)
    define(app, key="checked", type="checkbox", required_on_solve=True)
    conv = make.conversation()
    solve = lambda: conversations.change_status(  # noqa: E731
        uow, AGENT, conv.id, ConversationStatus.SOLVED)
    with app.app_context(), unit_of_work() as uow, pytest.raises(
            ValidationFailed, match=r"Order \(order\) must be filled in"):
        solve()
    update(app, conv.id, order="A-1", checked=False)
    with app.app_context(), unit_of_work() as uow, pytest.raises(
            ValidationFailed, match=r"\(checked\)"):
        solve()
    update(app, conv.id, checked=True)
    with app.app_context(), unit_of_work() as uow:
        assert solve().status == ConversationStatus.SOLVED


def test_definitions_keys_types_and_options_are_checked(app):
    define(app, key="order", type="text")
    with pytest.raises(Conflict):
        define(app, key="order", type="number")
    for bad, field in [({"key": "Order No"}, "key"), ({"key": "x", "type": "colour"}, "type"),
                       ({"key": "x", "type": "select"}, "options"),
                       ({"key": "x", "options": ["a"]}, "options"),
                       ({"key": "x", "label": " "}, "label")]:
        with pytest.raises(ValidationFailed) as refused:
            define(app, **{"type": "text", **bad})
        assert refused.value.field == field


def test_a_definition_changes_label_and_options_but_not_key_or_type(app):
    carrier = define(app, key="carrier", type="select", options=["DHL"])
    with app.app_context(), unit_of_work() as uow:
        changed = custom_fields.update_field(uow, SYSTEM, carrier.id, label="Transporteur",
                                             options=["DHL", "UPS"], required_on_solve=True)
        assert (changed.label, changed.options, changed.required_on_solve) == (
            "Transporteur", ["DHL", "UPS"], True)
    with app.app_context(), unit_of_work() as uow, pytest.raises(
            ValidationFailed, match="type cannot be changed"):
        custom_fields.update_field(uow, SYSTEM, carrier.id, type="text")
    with app.app_context(), unit_of_work() as uow:
        custom_fields.delete_field(uow, SYSTEM, carrier.id)
        assert custom_fields.definitions(uow.session) == []
