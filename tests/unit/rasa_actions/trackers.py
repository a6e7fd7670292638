"""Trackers from the JSON fixtures in tests/unit/fixtures/rasa, the real domain, and a runner."""

from __future__ import annotations

import asyncio
import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "unit" / "fixtures" / "rasa"


@cache
def domain() -> dict[str, Any]:
    """bot/rasa/domain.yml, as Rasa sends it to the action server."""
    return yaml.safe_load((ROOT / "bot" / "rasa" / "domain.yml").read_text(encoding="utf-8"))


def tracker(fixture: str, *, slots: dict[str, Any] | None = None,
            candidates: dict[str, Any] | None = None) -> Tracker:
    """The tracker saved in ``fixture``.json, with ``slots`` changed and, for a form's
    validation, the ``candidates`` Rasa extracted appended as slot events."""
    state = json.loads((FIXTURES / f"{fixture}.json").read_text(encoding="utf-8"))
    state["slots"].update(slots or {})
    state["events"].extend({"event": "slot", "timestamp": None, "name": name, "value": value}
                           for name, value in (candidates or {}).items())
    return Tracker.from_dict(state)


def run(action: Action, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The events ``action`` returns and the messages it sends, keeping only the message
    fields that are set (the response or text, its variables, the custom payload)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, copy.deepcopy(domain())))
    sent = [{key: value for key, value in message.items() if value and key != "template"}
            for message in dispatcher.messages]
    return events, sent
