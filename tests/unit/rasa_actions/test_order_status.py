"""Asking about an order: validate_order_form, then action_order_status."""

from __future__ import annotations

import pytest
from rasa_sdk.events import FollowupAction, SlotSet

from bot.actions.comptoir_client import Order
from bot.actions.orders import ActionOrderStatus, ValidateOrderForm
from tests.unit.rasa_actions.fakes import FakeComptoir
from tests.unit.rasa_actions.trackers import run, tracker

SHIPPED = Order(number="A1001", status="shipped", status_text="Shipped on 24 November.",
                carrier="Colissimo", tracking_url="https://track.example/A1001",
                expected_delivery="2026-12-01")
PROCESSING = Order(number="A1001", status="processing", status_text="Being prepared.",
                   carrier=None, tracking_url=None, expected_delivery=None)


@pytest.mark.parametrize(("answer", "number"), [
    ("c'est la a-1001", "A1001"), ("A1001", "A1001"), ("order ab 20345 please", "AB20345"),
])
def test_the_order_number_in_the_answer_is_kept_in_upper_case(answer, number):
    events, sent = run(ValidateOrderForm(),
                       tracker("order_form_asking_number", candidates={"order_number": answer}))

    assert events == [SlotSet("order_number", number)]
    assert sent == []


@pytest.mark.parametrize("answer", ["tomorrow", "1001", "A12"])
def test_an_answer_without_an_order_number_is_refused_with_the_format(answer):
    events, sent = run(ValidateOrderForm(),
                       tracker("order_form_asking_number", candidates={"order_number": answer}))

    assert events == [SlotSet("order_number", None)]
    assert sent == [{"response": "utter_invalid_order_number"}]


def test_the_status_delivery_date_and_tracking_link_are_given():
    comptoir = FakeComptoir(orders=(SHIPPED,))

    events, sent = run(ActionOrderStatus(comptoir), tracker("order_form_submitted"))

    assert comptoir.calls == [("order", "A1001")]
    assert sent == [
        {"response": "utter_order_status", "number": "A1001",
         "status_text": "Shipped on 24 November."},
        {"response": "utter_order_expected_delivery", "expected_delivery": "2026-12-01"},
        {"response": "utter_order_tracking", "tracking_url": "https://track.example/A1001"},
    ]
    assert events == [SlotSet("order_number", None)]


def test_an_order_not_yet_shipped_gets_its_status_only():
    _, sent = run(ActionOrderStatus(FakeComptoir(orders=(PROCESSING,))),
                  tracker("order_form_submitted"))

    assert sent == [{"response": "utter_order_status", "number": "A1001",
                     "status_text": "Being prepared."}]


def test_an_unknown_order_number_is_named():
    events, sent = run(ActionOrderStatus(FakeComptoir()), tracker("order_form_submitted"))

    assert sent == [{"response": "utter_order_not_found", "number": "A1001"}]
    assert events == [SlotSet("order_number", None)]


def test_with_comptoir_unreachable_the_customer_is_told_so():
    events, sent = run(ActionOrderStatus(FakeComptoir(down=True)), tracker("order_form_submitted"))

    assert sent == [{"response": "utter_order_lookup_failed"}]
    assert events == [SlotSet("order_number", None)]


def test_without_an_order_number_the_form_asks_for_it():
    comptoir = FakeComptoir()

    events, _ = run(ActionOrderStatus(comptoir),
                    tracker("order_form_submitted", slots={"order_number": None}))

    assert events == [FollowupAction("order_form")]
    assert comptoir.calls == []
