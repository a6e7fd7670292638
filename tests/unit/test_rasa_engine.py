"""The Rasa engine with a fake Rasa: how Rasa's replies become actions, and every failure
answered by the fallback engine and counted."""

from __future__ import annotations

import re

import pytest
from prometheus_client import REGISTRY

from bot.engine import BotContext
from bot.rasa_engine import RasaEngine, RasaError, RasaTimeout, reply_actions
from bot.responses import Answer, Button, Citation, Escalate, EscalationReason, Reply
from tests.fakes import FakeRasaClient, ScriptedEngine

CONTEXT = BotContext(conversation_id=42, language="fr")
CITATION = {"article_id": 7, "version": 2, "title": "Retours", "url": "https://shop/help/7"}
FALLBACK_ANSWER = Reply(text="the built-in engine's answer")


def engine(answer: object) -> tuple[RasaEngine, FakeRasaClient, ScriptedEngine]:
    client, fallback = FakeRasaClient(answer), ScriptedEngine(FALLBACK_ANSWER)
    return RasaEngine(client, fallback), client, fallback


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- what goes to Rasa ------------------------------------------------------------------


def test_the_message_goes_to_rasa_as_the_conversation_in_its_language():
    rasa, client, _ = engine([])
    rasa.respond(CONTEXT, "Bonjour")
    assert client.sent == [("42", "Bonjour", {"language": "fr"})]


def test_a_pressed_button_sends_its_payload_not_its_title():
    rasa, client, _ = engine([])
    rasa.respond(BotContext(conversation_id=42, payload="/affirm"), "Oui")
    assert client.sent == [("42", "/affirm", {})]


def test_a_message_outside_a_conversation_is_a_new_sender_each_time():
    rasa, client, _ = engine([])
    rasa.respond(BotContext(), "hello")
    rasa.respond(BotContext(), "hello")
    first, second = (sender for sender, _message, _metadata in client.sent)
    assert first != second and first.startswith("comptoir-")


# --- Rasa's reply as actions --------------------------------------------------------------


def test_texts_are_replies_in_order():
    assert reply_actions([{"recipient_id": "42", "text": "Bonjour !"},
                          {"recipient_id": "42", "text": "Que puis-je faire ?"}]) == [
        Reply("Bonjour !"), Reply("Que puis-je faire ?")]


def test_buttons_come_with_their_text():
    [reply] = reply_actions([{"text": "Est-ce réglé ?", "buttons": [
        {"title": "Oui", "payload": "/affirm"}, {"title": "Non", "payload": "/deny"}]}])
    assert reply == Reply("Est-ce réglé ?", buttons=(Button("Oui", "/affirm"),
                                                     Button("Non", "/deny")))


def test_an_image_is_a_reply_of_its_own():
    assert reply_actions([{"text": "Voici la lampe"}, {"image": "https://shop/orbe.png"}]) == [
        Reply("Voici la lampe"), Reply("", image="https://shop/orbe.png")]


def test_a_citation_after_a_text_makes_it_a_cited_answer():
    """Rasa's REST channel sends utter_message(text, json_message) as two elements."""
    assert reply_actions([{"text": "Vous avez 30 jours."}, {"custom": {"citation": CITATION}}]) \
        == [Answer("Vous avez 30 jours.", Citation(7, 2, "Retours", "https://shop/help/7"))]


def test_a_citation_cites_the_whole_text_rasa_split_at_blank_lines():
    [answer] = reply_actions([{"text": "Premier paragraphe."}, {"text": "Second."},
                              {"custom": {"citation": CITATION}}])
    assert answer.text == "Premier paragraphe.\n\nSecond."


def test_a_citation_in_the_same_element_as_its_text_is_understood_too():
    [answer] = reply_actions([{"text": "Vous avez 30 jours.", "custom": {"citation": CITATION}}])
    assert isinstance(answer, Answer) and answer.citation.article_id == 7


def test_a_citation_with_no_text_before_it_is_ignored():
    assert reply_actions([{"text": "Oui ?", "buttons": [{"title": "a", "payload": "/a"}]},
                          {"custom": {"citation": CITATION}}]) == [
        Reply("Oui ?", buttons=(Button("a", "/a"),))]


def test_a_handoff_with_a_known_reason_and_a_queue():
    assert reply_actions([{"text": "Je vous passe un conseiller."},
                          {"custom": {"handoff": {"reason": "asked_for_human",
                                                  "queue": "Billing"}}}]) == [
        Reply("Je vous passe un conseiller."),
        Escalate(EscalationReason.ASKED_FOR_HUMAN, None, "", queue="Billing")]


def test_a_handoff_for_a_reason_of_rasa_s_own_goes_to_the_site_s_queue():
    [escalate] = reply_actions([{"custom": {"handoff": {"reason": "form_failed"}}}])
    assert escalate == Escalate(EscalationReason.ASSISTANT_HANDOFF, None, "", queue=None)


def test_another_custom_payload_is_kept_with_its_message():
    [reply] = reply_actions([{"text": "Votre commande"}, {"custom": {"order": "A1001"}}])
    assert reply == Reply("Votre commande", custom={"order": "A1001"})


def test_a_custom_payload_with_nothing_to_show_is_ignored():
    assert reply_actions([{"custom": {"order": "A1001"}}]) == []


def test_rasa_saying_nothing_is_no_action_not_the_fallback():
    rasa, _, fallback = engine([])
    assert rasa.respond(CONTEXT, "merci") == []
    assert fallback.seen == []


# --- failures: the fallback engine answers, and each one is counted -----------------------


@pytest.mark.parametrize(("answer", "problem"), [
    ({"text": "hi"}, "Rasa's answer: expected a list"),
    (["hi"], "message 0: expected an object"),
    ([{"text": 3}], "message 0: text: expected text"),
    ([{"text": "a", "buttons": [{"title": "Yes"}]}], "button 0: payload: expected text"),
    ([{"image": "javascript:alert(1)"}], "image: expected an http(s) URL"),
    ([{"text": "a"}, {"custom": {"citation": {**CITATION, "version": "2"}}}],
     "message 1: citation version: expected a whole number"),
    ([{"custom": {"handoff": {"queue": 5}}}], "message 0: handoff queue: expected text"),
    ([{"custom": "handoff"}], "message 0: custom: expected an object"),
])
def test_a_malformed_reply_names_the_problem(answer, problem):
    with pytest.raises(RasaError, match=re.escape(problem)):
        reply_actions(answer)


@pytest.mark.parametrize(("failure", "outcome"), [
    (RasaTimeout("no answer within 10 s"), "timeout"),
    (RasaError("cannot reach http://127.0.0.1:5005"), "error"),
    (RasaError("answered HTTP 500"), "error"),
    ({"not": "a list"}, "error"),
])
def test_a_failure_is_answered_by_the_fallback_engine_and_counted(failure, outcome, caplog):
    rasa, _, fallback = engine(failure)
    before = counted("comptoir_rasa_requests_total", outcome=outcome)
    fallbacks = counted("comptoir_rasa_fallbacks_total")
    assert rasa.respond(CONTEXT, "où est ma commande") == [FALLBACK_ANSWER]
    assert fallback.seen == ["où est ma commande"]
    assert counted("comptoir_rasa_requests_total", outcome=outcome) == before + 1
    assert counted("comptoir_rasa_fallbacks_total") == fallbacks + 1
    assert "Rasa failed on conversation 42" in caplog.text


def test_the_fallback_gets_the_button_title_not_rasa_s_payload():
    rasa, _, fallback = engine(RasaTimeout("slow"))
    rasa.respond(BotContext(conversation_id=42, payload="/affirm"), "Oui")
    assert fallback.seen == ["Oui"]


def test_an_answer_is_counted_as_ok_with_its_duration():
    rasa, _, _ = engine([{"text": "Bonjour !"}])
    ok, timed = counted("comptoir_rasa_requests_total", outcome="ok"), counted(
        "comptoir_rasa_request_seconds_count")
    rasa.respond(CONTEXT, "Bonjour")
    assert counted("comptoir_rasa_requests_total", outcome="ok") == ok + 1
    assert counted("comptoir_rasa_request_seconds_count") == timed + 1
