"""Replaying questions through Rasa: what counts as an answer, a handoff, and the figures."""

import pytest

from bot.evaluate import EvaluationError, Question
from bot.rasa_engine import RasaTimeout
from bot.rasa_evaluate import (
    decisive,
    evaluate_rasa,
    rasa_detail,
    rasa_metrics,
)
from bot.responses import Answer, Citation, Escalate, EscalationReason, Reply
from tests.fakes import FakeRasaClient


def faq_reply(article_id: int, external_id: str | None, text: str = "Within 30 days.") -> list:
    """What Rasa's REST channel sends for an exported ``utter_faq/<key>`` response."""
    citation = {"article_id": article_id, "version": 1, "title": "Returns",
                "url": f"/help/en/articles/{article_id}-returns"}
    return [{"recipient_id": "s", "text": text},
            {"recipient_id": "s", "custom": {"citation": citation, "faq": {
                "key": f"{article_id}-returns", "external_id": external_id}}}]


HANDOFF = [{"recipient_id": "s", "custom": {"handoff": {"reason": "low_confidence",
                                                         "queue": None}}}]
HELLO = [{"recipient_id": "s", "text": "Hello! How can I help?"}]


class ScriptedRasa(FakeRasaClient):
    """Each message gets its own scripted answer."""

    def __init__(self, answers: dict[str, object]) -> None:
        super().__init__()
        self.answers = answers

    def send(self, sender: str, message: str, metadata: dict) -> object:
        self.answer = self.answers[message]
        return super().send(sender, message, metadata)


QUESTIONS = [Question("return it?", "returns"), Question("refund?", "refunds", "fr"),
             Question("crypto?", None), Question("hi", None), Question("no id?", "7")]
ANSWERS = {"return it?": faq_reply(1, "returns"), "refund?": faq_reply(1, "returns"),
           "crypto?": HANDOFF, "hi": HELLO, "no id?": faq_reply(7, None)}


@pytest.fixture
def replayed():
    client = ScriptedRasa(ANSWERS)
    return client, evaluate_rasa(client, QUESTIONS)


def test_each_question_is_a_new_conversation_in_its_language(replayed):
    client, _ = replayed
    senders = [sender for sender, _, _ in client.sent]
    assert len(set(senders)) == len(QUESTIONS)
    assert [(m, meta) for _, m, meta in client.sent][:2] == [
        ("return it?", {}), ("refund?", {"language": "fr"})]


def test_a_cited_faq_answer_is_named_as_the_questions_name_articles(replayed):
    _, outcomes = replayed
    assert [o.article for o in outcomes] == ["returns", "returns", None, None, "7"]
    assert isinstance(outcomes[0].action, Answer)
    assert outcomes[0].texts == ["Within 30 days."]


def test_a_handoff_payload_is_a_handoff_and_small_talk_is_neither(replayed):
    _, outcomes = replayed
    assert outcomes[2].handed_off and not outcomes[2].answered
    assert isinstance(outcomes[3].action, Reply)
    assert not outcomes[3].handed_off and not outcomes[3].answered


def test_the_figures_are_the_builtin_ones_with_handoffs_and_latency(replayed):
    _, outcomes = replayed
    figures = rasa_metrics(outcomes)
    assert figures["n"] == 5
    assert figures["in_scope_accuracy"] == round(2 / 3, 4)  # "refund?" got returns
    assert figures["oos_recall"] == 1.0
    assert figures["wrong_answer_rate"] == round(1 / 3, 4)
    assert figures["coverage"] == 0.6
    assert figures["handoff_rate"] == 0.2
    assert 0 <= figures["latency_p50_ms"] <= figures["latency_p95_ms"]


def test_a_detail_line_says_what_rasa_did_and_how_long_it_took(replayed):
    _, outcomes = replayed
    answered, handoff, hello = (rasa_detail(outcomes[n]) for n in (0, 2, 3))
    assert answered | {"ms": 0} == {
        "text": "return it?", "expected": "returns", "action": "answer", "article": "returns",
        "correct": True, "reason": None, "ms": 0, "replies": ["Within 30 days."]}
    assert (handoff["action"], handoff["reason"]) == ("handoff", "low_confidence")
    assert (hello["action"], hello["replies"]) == ("reply", ["Hello! How can I help?"])


def test_silence_is_neither_an_answer_nor_a_handoff():
    [outcome] = evaluate_rasa(FakeRasaClient([]), [Question("…", None)])
    assert outcome.action is None and rasa_detail(outcome)["action"] == "silent"


def test_the_decisive_action_is_the_first_answer_or_handoff():
    answer = Answer("x", Citation(1, 1, "t", "/u"))
    escalate = Escalate(EscalationReason.ASSISTANT_HANDOFF, None, "")
    assert decisive([Reply("Let me check."), answer, escalate]) is answer
    assert decisive([Reply("a"), Reply("b")]) == Reply("a")
    assert decisive([]) is None


def test_rasa_failing_ends_the_evaluation_naming_the_question():
    client = FakeRasaClient(RasaTimeout("no answer within 30 s"))
    with pytest.raises(EvaluationError, match=r"question 1 \('hi'\): no answer within 30 s"):
        evaluate_rasa(client, [Question("hi", None)])
