"""action_handoff: asks Comptoir to hand over and sends the same request as a payload."""

from __future__ import annotations

from bot.actions.handoff import ActionHandoff
from tests.unit.rasa_actions.fakes import FakeComptoir
from tests.unit.rasa_actions.trackers import run, tracker


def test_asking_for_a_person_hands_the_conversation_over():
    comptoir = FakeComptoir()

    events, sent = run(ActionHandoff(comptoir), tracker("ask_human"))

    assert comptoir.calls == [("hand_off", "42", "asked_for_human", None)]
    assert sent == [{"custom": {"handoff": {"reason": "asked_for_human", "queue": None}}}]
    assert events == []


def test_the_queue_slot_names_the_queue():
    comptoir = FakeComptoir()

    _, sent = run(ActionHandoff(comptoir), tracker("ask_human", slots={"queue": "Billing"}))

    assert comptoir.calls == [("hand_off", "42", "asked_for_human", "Billing")]
    assert sent == [{"custom": {"handoff": {"reason": "asked_for_human", "queue": "Billing"}}}]


def test_with_comptoir_unreachable_the_payload_still_asks_for_the_handoff():
    comptoir = FakeComptoir(down=True)

    events, sent = run(ActionHandoff(comptoir), tracker("ask_human"))

    assert comptoir.calls == [("hand_off", "42", "asked_for_human", None)]
    assert sent == [{"custom": {"handoff": {"reason": "asked_for_human", "queue": None}}}]
    assert events == []
