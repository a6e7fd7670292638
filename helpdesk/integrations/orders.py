"""The order-lookup hook: how Comptoir asks the shop's own system where an order is.

The ``order_lookup`` setting names a function, ``"module:function"``, imported when the
app starts (a wrong name stops the start with a ``ConfigError`` naming the setting). It
takes an order number and returns the order as a dict — ``number``, ``status`` (required),
``status_text``, ``carrier``, ``tracking_url``, ``expected_delivery``, ``items`` — or None
when there is no such order. The demo's sample is ``helpdesk.demo.orders:lookup``.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol

from flask import Flask, current_app

from config import ConfigError
from helpdesk.errors import DomainError, NotFound, ValidationFailed

log = logging.getLogger(__name__)
EXTENSION = "comptoir.order_lookup"
SETTING = "COMPTOIR_ORDER_LOOKUP"
ORDER_NUMBER = re.compile(r"^[A-Za-z0-9-]{3,32}$")
# What a hook may leave out: every answer has the same keys.
BLANK_ORDER = {"status_text": None, "carrier": None, "tracking_url": None,
               "expected_delivery": None, "items": []}


class OrderLookup(Protocol):
    def __call__(self, number: str) -> Mapping[str, Any] | None:
        """The order with this number, or None when there is none."""
        ...


class OrderLookupFailed(DomainError):
    """The shop's order system failed to answer (the hook raised or returned nonsense)."""

    code = "order_lookup_failed"
    status = 502


def init_app(app: Flask) -> OrderLookup:
    """Import the app's ``order_lookup`` hook now, so a wrong setting stops the start."""
    hook = load_hook(app.config["COMPTOIR"].order_lookup)
    app.extensions[EXTENSION] = hook
    return hook


def load_hook(spec: str) -> OrderLookup:
    """The function ``"module:function"`` names; ``ConfigError`` when there is none."""
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise ConfigError(f"{SETTING}: expected \"module:function\", got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{SETTING}: cannot import {module_name!r} ({exc})") from exc
    hook = getattr(module, name, None)
    if not callable(hook):
        raise ConfigError(f"{SETTING}: {module_name} has no function {name!r}")
    return hook


def find_order(number: str, hook: OrderLookup | None = None) -> dict[str, Any]:
    """The order from ``hook`` (default: the app's); 422 for a malformed number, 404 for
    an unknown one, 502 (logged) when the hook fails."""
    if not ORDER_NUMBER.match(number):
        raise ValidationFailed(f"{number!r} is not an order number (3 to 32 letters, digits "
                               "or hyphens)", field="number")
    order = _asked(hook or current_app.extensions[EXTENSION], number)
    if order is None:
        raise NotFound(f"no order {number}", field="number")
    if not isinstance(order, Mapping) or not order.get("status"):
        log.error("the order lookup returned %r for order %s: not an order", order, number)
        raise OrderLookupFailed(f"the order system gave no status for order {number}")
    return {**BLANK_ORDER, "number": number, **order}


def _asked(hook: OrderLookup, number: str) -> Mapping[str, Any] | None:
    try:
        return hook(number)
    except Exception as exc:
        log.exception("the order lookup failed for order %s", number)
        raise OrderLookupFailed(f"the order system failed to answer for order {number}; "
                                "try again later") from exc
