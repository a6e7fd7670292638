"""Answering from Comptoir's knowledge base."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import UsesComptoir, in_thread, language_of
from bot.actions.comptoir_client import ComptoirUnavailable
from bot.actions.handoff import hand_off

logger = logging.getLogger(__name__)


class ActionAnswerFromKb(UsesComptoir, Action):
    """Answers the customer's last message with the cited article Comptoir's engine
    chooses, or hands over, with Comptoir's reason, when no article is good enough."""

    def name(self) -> str:
        return "action_answer_from_kb"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        comptoir = self.comptoir()
        question = tracker.latest_message.get("text") or ""
        try:
            answer = await in_thread(comptoir.kb_answer, question, language_of(tracker))
        except ComptoirUnavailable as exc:
            logger.warning("knowledge-base answer for conversation %s failed: %s",
                           tracker.sender_id, exc)
            dispatcher.utter_message(response="utter_kb_unavailable")
            return []
        if not answer.answered:
            return await hand_off(dispatcher, tracker, comptoir, answer.reason or "low_confidence")
        dispatcher.utter_message(text=answer.text,
                                 json_message={"citation": answer.citation.as_dict()})
        return []
