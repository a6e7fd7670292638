"""Asking about an order: the form's validation, then the status from Comptoir."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import UsesComptoir, in_thread
from bot.actions.comptoir_client import ComptoirUnavailable, Order

# A few letters then digits, with an optional separator: "A1001", "a-1001", "AB 20345".
ORDER_NUMBER = re.compile(r"\b([A-Za-z]{1,4})[-\s]?(\d{3,10})\b")

logger = logging.getLogger(__name__)


class ValidateOrderForm(FormValidationAction):
    """Keeps the order number the answer contains, normalised ("a-1001" -> "A1001")."""

    def name(self) -> str:
        return "validate_order_form"

    def validate_order_number(self, value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        """Without a number in the answer, the customer is shown the format and asked again."""
        match = ORDER_NUMBER.search(str(value or ""))
        if match is None:
            dispatcher.utter_message(response="utter_invalid_order_number")
            return {"order_number": None}
        return {"order_number": (match.group(1) + match.group(2)).upper()}


class ActionOrderStatus(UsesComptoir, Action):
    """Tells the customer where their order is, from Comptoir's order lookup."""

    def name(self) -> str:
        return "action_order_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        number = tracker.get_slot("order_number")
        if not number:
            return [FollowupAction("order_form")]
        try:
            order = await in_thread(self.comptoir().order, number)
        except ComptoirUnavailable as exc:
            logger.warning("order %s not looked up: %s", number, exc)
            dispatcher.utter_message(response="utter_order_lookup_failed")
        else:
            _tell_status(dispatcher, number, order)
        # Forgotten, so that the next question about an order asks for its number.
        return [SlotSet("order_number", None)]


def _tell_status(dispatcher: CollectingDispatcher, number: str, order: Order | None) -> None:
    if order is None:
        dispatcher.utter_message(response="utter_order_not_found", number=number)
        return
    dispatcher.utter_message(response="utter_order_status", number=order.number,
                             status_text=order.status_text)
    if order.expected_delivery:
        dispatcher.utter_message(response="utter_order_expected_delivery",
                                 expected_delivery=order.expected_delivery)
    if order.tracking_url:
        dispatcher.utter_message(response="utter_order_tracking",
                                 tracking_url=order.tracking_url)
