"""Reporting a problem: the form's validation, then a Comptoir conversation for it."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import UsesComptoir, in_thread
from bot.actions.comptoir_client import ComptoirUnavailable

# Found anywhere in the answer, so "it's claire@example.com." gives the bare address.
EMAIL = re.compile(r"[^@\s<>()\[\],;:\"']+@[^@\s<>()\[\],;:\"']+\.[A-Za-z]{2,}")

logger = logging.getLogger(__name__)


class ValidateProblemForm(FormValidationAction):
    """Keeps a description that says something and the email address the answer contains."""

    def name(self) -> str:
        return "validate_problem_form"

    def validate_problem_description(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        """An empty description is asked again."""
        return {"problem_description": str(value or "").strip() or None}

    def validate_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> dict[str, Any]:
        """The address in the answer; without one, the customer is told why and asked again."""
        match = EMAIL.search(str(value or ""))
        if match is None:
            dispatcher.utter_message(response="utter_invalid_email")
            return {"email": None}
        return {"email": match.group(0)}


class ActionOpenConversation(UsesComptoir, Action):
    """Opens a Comptoir email conversation with the problem and gives the reference."""

    def name(self) -> str:
        return "action_open_conversation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        email, description = tracker.get_slot("email"), tracker.get_slot("problem_description")
        if not (email and description):
            return [FollowupAction("problem_form")]
        try:
            follow_up = await in_thread(self.comptoir().open_follow_up,
                                                tracker.sender_id, email, description)
        except ComptoirUnavailable as exc:
            logger.warning("follow-up of conversation %s not opened: %s", tracker.sender_id, exc)
            # The slots stay: reporting again retries, and Comptoir does not open it twice.
            dispatcher.utter_message(response="utter_follow_up_failed")
            return []
        dispatcher.utter_message(response="utter_follow_up_opened",
                                 reference=follow_up.reference, email=email)
        return [SlotSet("problem_description", None)]
