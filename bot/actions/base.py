"""What the actions share: the Comptoir client they use and the customer's language."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Tracker

from bot.actions.comptoir_client import Comptoir, ComptoirClient

LANGUAGES = ("en", "fr")
T = TypeVar("T")


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


async def in_thread(call: Callable[..., T], *args: Any) -> T:
    """Run a blocking Comptoir call off the action server's event loop (what
    ``asyncio.to_thread`` does, which Python 3.8, still supported by Rasa 3.6, lacks)."""
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(call, *args))
