"""Handing the conversation over to people."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import UsesComptoir, in_thread
from bot.actions.comptoir_client import Comptoir, ComptoirUnavailable

ASKED_FOR_HUMAN = "asked_for_human"

logger = logging.getLogger(__name__)


async def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, comptoir: Comptoir,
                   reason: str) -> list[EventType]:
    """Ask Comptoir to hand the conversation to people, to the `queue` slot's queue (or
    the site's), and send the same request as a `handoff` payload: Comptoir's Rasa engine
    performs it from there when the call failed, and ignores it when it succeeded.
    Comptoir tells the customer who takes over, so no text is sent from here."""
    queue = tracker.get_slot("queue")
    try:
        await in_thread(comptoir.hand_off, tracker.sender_id, reason, queue)
    except ComptoirUnavailable as exc:
        logger.warning("handoff of conversation %s left to the payload: %s",
                       tracker.sender_id, exc)
    dispatcher.utter_message(json_message={"handoff": {"reason": reason, "queue": queue}})
    return []


class ActionHandoff(UsesComptoir, Action):
    """The customer asked for a person."""

    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        return await hand_off(dispatcher, tracker, self.comptoir(), ASKED_FOR_HUMAN)
