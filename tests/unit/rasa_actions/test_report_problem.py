"""Reporting a problem: validate_problem_form, then action_open_conversation."""

from __future__ import annotations

import pytest
from rasa_sdk.events import FollowupAction, SlotSet

from bot.actions.problem import ActionOpenConversation, ValidateProblemForm
from tests.unit.rasa_actions.fakes import FakeComptoir
from tests.unit.rasa_actions.trackers import run, tracker

DESCRIPTION = "The glass shade was shattered in the box."


@pytest.mark.parametrize("answer", ["claire@example.com", "you can write to claire@example.com.",
                                    "<claire@example.com>"])
def test_the_email_address_in_the_answer_is_kept(answer):
    events, sent = run(ValidateProblemForm(),
                       tracker("problem_form_asking_email", candidates={"email": answer}))

    assert events == [SlotSet("email", "claire@example.com")]
    assert sent == []


@pytest.mark.parametrize("answer", ["not yet", "claire@example", "claire.example.com"])
def test_an_answer_without_an_email_address_is_refused_with_the_reason(answer):
    events, sent = run(ValidateProblemForm(),
                       tracker("problem_form_asking_email", candidates={"email": answer}))

    assert events == [SlotSet("email", None)]
    assert sent == [{"response": "utter_invalid_email"}]


@pytest.mark.parametrize(("answer", "kept"), [(f"  {DESCRIPTION}\n", DESCRIPTION), ("   ", None)])
def test_the_description_is_trimmed_and_an_empty_one_asked_again(answer, kept):
    events, _ = run(ValidateProblemForm(), tracker(
        "problem_form_asking_email",
        slots={"problem_description": None, "requested_slot": "problem_description"},
        candidates={"problem_description": answer}))

    assert events == [SlotSet("problem_description", kept)]


def test_the_complete_form_opens_a_conversation_and_gives_its_reference():
    comptoir = FakeComptoir()

    events, sent = run(ActionOpenConversation(comptoir), tracker("problem_form_submitted"))

    assert comptoir.calls == [("open_follow_up", "42", "claire@example.com", DESCRIPTION)]
    assert sent == [{"response": "utter_follow_up_opened", "reference": "#77",
                     "email": "claire@example.com"}]
    # The email stays for a next report; the description goes with this one.
    assert events == [SlotSet("problem_description", None)]


def test_with_comptoir_unreachable_the_customer_is_told_and_the_report_kept():
    comptoir = FakeComptoir(down=True)

    events, sent = run(ActionOpenConversation(comptoir), tracker("problem_form_submitted"))

    assert sent == [{"response": "utter_follow_up_failed"}]
    assert events == []


def test_an_incomplete_report_goes_back_to_the_form():
    comptoir = FakeComptoir()

    events, sent = run(ActionOpenConversation(comptoir),
                       tracker("problem_form_submitted", slots={"email": None}))

    assert events == [FollowupAction("problem_form")]
    assert comptoir.calls == []
    assert sent == []
