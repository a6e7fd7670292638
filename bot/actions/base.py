"""What the actions share: the Comptoir client they use and the customer's language."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from bot.actions.comptoir_client import Comptoir, ComptoirClient

LANGUAGES = ("en", "fr")


class UsesComptoir:
    """Mixed into the actions that call Comptoir: the client is given (tests) or, by
    default, configured from the environment at each run."""

    def __init__(self, comptoir: Comptoir | None = None) -> None:
        self._comptoir = comptoir

    def comptoir(self) -> Comptoir:
        return self._comptoir or ComptoirClient.from_env()


def language_from(metadata: dict[str, Any] | None) -> str:
    """The supported language a message's metadata names ("fr", "fr-CA"...), else English."""
    language = str((metadata or {}).get("language") or "")[:2].lower()
    return language if language in LANGUAGES else LANGUAGES[0]


def language_of(tracker: Tracker) -> str:
    """The conversation's language, as action_session_start recorded it."""
    language = tracker.get_slot("language")
    return language if language in LANGUAGES else LANGUAGES[0]
