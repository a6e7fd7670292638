"""action_answer_from_kb: the cited answer of Comptoir's knowledge base, or a handoff."""

from __future__ import annotations

from bot.actions.comptoir_client import Citation, KbAnswer
from bot.actions.knowledge import ActionAnswerFromKb
from tests.unit.rasa_actions.fakes import FakeComptoir
from tests.unit.rasa_actions.trackers import run, tracker

CITATION = Citation(article_id=3, version=2, title="Your account and password",
                    url="https://help.example/account")
ANSWERED = KbAnswer(answered=True, text="Choose 'Forgot password' on the sign-in page.",
                    confidence=0.83, citation=CITATION, reason=None)


def test_an_answer_is_sent_with_its_citation():
    comptoir = FakeComptoir(answer=ANSWERED)

    events, sent = run(ActionAnswerFromKb(comptoir), tracker("kb_question"))

    assert comptoir.calls == [("kb_answer", "How do I reset my password?", "en")]
    assert sent == [{"text": "Choose 'Forgot password' on the sign-in page.",
                     "custom": {"citation": {"article_id": 3, "version": 2,
                                             "title": "Your account and password",
                                             "url": "https://help.example/account"}}}]
    assert events == []


def test_the_question_is_asked_in_the_conversation_language():
    comptoir = FakeComptoir(answer=ANSWERED)

    run(ActionAnswerFromKb(comptoir), tracker("kb_question", slots={"language": "fr"}))

    assert comptoir.calls == [("kb_answer", "How do I reset my password?", "fr")]


def test_without_a_good_enough_article_it_hands_over_with_comptoirs_reason():
    comptoir = FakeComptoir(answer=KbAnswer(answered=False, text=None, confidence=None,
                                            citation=None, reason="no_articles"))

    _, sent = run(ActionAnswerFromKb(comptoir), tracker("kb_question"))

    assert comptoir.calls[1:] == [("hand_off", "42", "no_articles", None)]
    assert sent == [{"custom": {"handoff": {"reason": "no_articles", "queue": None}}}]


def test_with_comptoir_unreachable_the_customer_is_told_so():
    comptoir = FakeComptoir(down=True)

    events, sent = run(ActionAnswerFromKb(comptoir), tracker("kb_question"))

    assert sent == [{"response": "utter_kb_unavailable"}]
    assert [call[0] for call in comptoir.calls] == ["kb_answer"]
    assert events == []
