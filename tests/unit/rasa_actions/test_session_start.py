"""action_session_start: the `language` slot comes from the first message's metadata."""

from __future__ import annotations

import pytest
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from bot.actions.session import ActionSessionStart
from tests.unit.rasa_actions.trackers import run, tracker


def test_the_session_starts_in_the_language_of_the_metadata():
    events, sent = run(ActionSessionStart(), tracker("session_start"))

    assert events == [SessionStarted(), SlotSet("language", "fr"),
                      ActionExecuted("action_listen")]
    assert sent == []


@pytest.mark.parametrize(("metadata", "language"), [
    ({"language": "fr-CA"}, "fr"),
    ({"language": "EN"}, "en"),
    ({"language": "de"}, "en"),
    ({}, "en"),
    (None, "en"),
])
def test_a_missing_or_unsupported_language_gives_english(metadata, language):
    events, _ = run(ActionSessionStart(),
                    tracker("session_start", slots={"session_started_metadata": metadata}))

    assert SlotSet("language", language) in events
