"""The order-lookup hook: loading it from the setting, and what its answers become."""

import logging

import pytest

from config import ConfigError
from helpdesk.demo import orders as demo_orders
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.integrations.orders import OrderLookupFailed, find_order, load_hook


def test_the_demo_sample_is_the_default_hook():
    assert load_hook("helpdesk.demo.orders:lookup") is demo_orders.lookup


@pytest.mark.parametrize(("spec", "problem"), [
    ("helpdesk.demo.orders", "expected \"module:function\""),
    (":lookup", "expected \"module:function\""),
    ("shop.nowhere:lookup", "cannot import 'shop.nowhere'"),
    ("helpdesk.demo.orders:find", "helpdesk.demo.orders has no function 'find'"),
    ("helpdesk.demo.orders:ORDERS", "has no function 'ORDERS'"),
])
def test_a_wrong_setting_is_a_config_error_naming_it(spec, problem):
    with pytest.raises(ConfigError, match="COMPTOIR_ORDER_LOOKUP") as error:
        load_hook(spec)
    assert problem in str(error.value)


def test_an_order_comes_back_with_its_number():
    order = find_order("a1003", demo_orders.lookup)
    assert (order["number"], order["status"]) == ("A1003", "delivered")
    assert find_order("B-77", lambda number: {"status": "shipped"}) == {
        "number": "B-77", "status": "shipped", "status_text": None, "carrier": None,
        "tracking_url": None, "expected_delivery": None, "items": []}


def test_an_unknown_order_is_not_found_naming_it():
    with pytest.raises(NotFound, match="no order Z9999"):
        find_order("Z9999", demo_orders.lookup)


@pytest.mark.parametrize("number", ["A1", "A 1001", "A1001/..", "é1001", "x" * 33])
def test_a_malformed_number_never_reaches_the_hook(number):
    def hook(number: str) -> dict:
        raise AssertionError("called")

    with pytest.raises(ValidationFailed) as refused:
        find_order(number, hook)
    assert refused.value.field == "number"


def test_a_failing_hook_is_logged_and_reported_as_such(caplog):
    def hook(number: str) -> dict:
        raise TimeoutError("the shop's API did not answer")

    with caplog.at_level(logging.ERROR), pytest.raises(OrderLookupFailed) as failed:
        find_order("A1001", hook)
    assert failed.value.status == 502 and "A1001" in failed.value.message
    assert "the shop's API did not answer" in caplog.text


@pytest.mark.parametrize("answer", [["shipped"], {"carrier": "DHL"}, "shipped"])
def test_an_answer_that_is_no_order_is_a_failure_of_the_hook(answer, caplog):
    with pytest.raises(OrderLookupFailed, match="no status for order A1001"):
        find_order("A1001", lambda number: answer)
    assert "not an order" in caplog.text
