"""The demo's order lookup: a few Maison Lumière orders, for the ``order_lookup`` hook.

A sample of what a deployment writes (``order_lookup = "mypackage.orders:lookup"``): a
function from an order number to the order as a dict, or None when there is none.
"""

from __future__ import annotations

from typing import Any

ORDERS: dict[str, dict[str, Any]] = {
    "A1001": {
        "status": "shipped",
        "status_text": "Your order has left our warehouse and is on its way.",
        "carrier": "Colissimo",
        "tracking_url": "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901",
        "expected_delivery": "2026-12-01",
        "items": [{"name": "Luna table lamp, opal glass", "quantity": 1},
                  {"name": "E27 LED bulb, warm white", "quantity": 2}],
    },
    "A1002": {
        "status": "processing",
        "status_text": "We are preparing your order; it ships within 2 business days.",
        "carrier": None,
        "tracking_url": None,
        "expected_delivery": "2026-12-05",
        "items": [{"name": "Arc floor lamp, brushed brass", "quantity": 1}],
    },
    "A1003": {
        "status": "delivered",
        "status_text": "Your order was delivered.",
        "carrier": "DHL",
        "tracking_url": "https://www.dhl.com/fr-en/home/tracking.html?tracking-id=JD0146000012",
        "expected_delivery": "2026-11-20",
        "items": [{"name": "Dimmer switch, rotary", "quantity": 1}],
    },
}


def lookup(number: str) -> dict[str, Any] | None:
    """The demo order with this number (any letter case), or None."""
    order = ORDERS.get(number.upper())
    return None if order is None else {"number": number.upper(), **order}
