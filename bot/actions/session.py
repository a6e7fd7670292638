"""Starting a session: remember the customer's language for the responses' variations."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import language_from


class ActionSessionStart(Action):
    """Sets the `language` slot from the first message's metadata ({"language": "fr"})."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        metadata = tracker.get_slot("session_started_metadata")
        return [SessionStarted(), SlotSet("language", language_from(metadata)),
                ActionExecuted("action_listen")]
