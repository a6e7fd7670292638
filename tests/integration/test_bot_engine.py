"""The knowledge-base engine with the real packaged model, on a small shop's KB."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import event

from bot.decision import Decision, Outcome
from bot.engine import BotContext, SiteThresholds
from bot.kb_engine import KnowledgeBaseEngine, UnansweredQuestion
from bot.responses import Answer, Escalate, EscalationReason
from bot.service import Assistant, init_app
from helpdesk import create_app, migrate
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from knowledge_base import articles, importer
from knowledge_base.models import Article, ArticleContent
from knowledge_base.search import search_service
from knowledge_base.search.engine import SearchHit
from tests.integration.bot_kb import write_kb

ASKING_FOR_A_PERSON = [
    "could I please chat with an actual human?",
    "I'd like to be connected to one of your agents",
    "your chatbot can't help, put me through to a person",
    "is there a real human I could talk to",
    "est-ce que je peux parler à quelqu'un de chez vous ?",
    "je voudrais échanger avec un humain",
    "mettez-moi en relation avec une vraie personne",
    "j'aimerais parler à un conseiller humain",
]
NOT_ASKING = [
    "the human resources department called me",
    "is a person allowed to open two accounts",
    "does the travel agent get my card details?",
    "I want to send money to a person in Germany",
    "une personne mineure peut-elle avoir une carte ?",
    "je veux envoyer de l'argent à une personne en Allemagne",
    "le service des ressources humaines de mon entreprise m'a contacté",
    "where is my parcel?",
]


@pytest.fixture(scope="module")
def bot_app(tmp_path_factory) -> Iterator[tuple[Flask, Assistant, dict[str, int]]]:
    folder: Path = tmp_path_factory.mktemp("bot")
    app = create_app({"database_url": f"sqlite:///{folder / 'kb.db'}",
                      "instance_path": str(folder / "instance"), "secret_key": "test-secret",
                      "testing": True})
    with app.app_context():
        migrate.upgrade(db.engine)
        entries = importer.read_path(write_kb(folder / "kb.jsonl"))
        assert not importer.import_entries(entries, unit_of_work, SYSTEM).rejected
        ids = {a.external_id: a.id for a in db.session.query(Article)}
        assistant = init_app(app)
        search_service(app).settle()
        yield app, assistant, ids
        db.engine.dispose()


@pytest.fixture
def engine(bot_app) -> KnowledgeBaseEngine:
    return bot_app[1].engine


def test_it_calibrated_on_the_knowledge_base(bot_app):
    model = bot_app[1].calibrator.model
    assert model is not None and 0.0 < model.threshold < 1.0


def test_an_answer_quotes_the_article_and_cites_it_with_its_version(bot_app, engine):
    _, _, ids = bot_app
    [action] = engine.respond(BotContext(language="en"), "I can't remember my password")
    assert isinstance(action, Answer)
    assert action.text == ("Click Forgot password on the login page and follow the link we "
                           "e-mail you.")
    assert (action.citation.article_id, action.citation.version) == (ids["password"], 1)
    assert action.citation.title == "Reset your password"
    assert action.citation.url == f"/help/en/articles/{ids['password']}-reset-your-password"


def test_a_new_version_is_cited_once_indexed(bot_app, engine):
    app, _, ids = bot_app
    with app.app_context(), unit_of_work() as uow:
        articles.update_article(uow, SYSTEM, ids["hours"], ArticleContent(
            title="Store opening hours", language="en", category="shop",
            body="Our stores open every day from 9 am to 8 pm.",
            example_questions=["when are you open", "opening hours", "are you open on Sunday",
                               "what time does the store close", "store hours on Saturday",
                               "is the shop open today"]))
    search_service(app).settle()
    [action] = engine.respond(BotContext(language="en"), "what are your opening hours?")
    assert isinstance(action, Answer)
    assert (action.citation.article_id, action.citation.version) == (ids["hours"], 2)
    assert action.text == "Our stores open every day from 9 am to 8 pm."


@pytest.mark.parametrize("question", [
    "what is the exchange rate from dollars to euros today?",
    "my card was swallowed by the cash machine",
])
def test_a_banking_question_the_shop_cannot_answer_is_escalated(engine, question):
    [action] = engine.respond(BotContext(language="en"), question)
    assert isinstance(action, Escalate)
    assert action.reason in (EscalationReason.LOW_CONFIDENCE, EscalationReason.NO_ARTICLES)


@pytest.mark.parametrize("message", ASKING_FOR_A_PERSON)
def test_asking_for_a_person_in_english_or_french_escalates(engine, message):
    [action] = engine.respond(BotContext(), message)
    assert isinstance(action, Escalate)
    assert action.reason is EscalationReason.ASKED_FOR_HUMAN


@pytest.mark.parametrize("message", NOT_ASKING)
def test_the_same_words_in_another_sense_are_no_request_for_a_person(bot_app, message):
    detector = bot_app[1].engine._detector
    assert not detector.asks_for_human_text(message)


@pytest.mark.parametrize(("context", "reason"), [
    (BotContext(language="en", marked_unhelpful=True), EscalationReason.MARKED_UNHELPFUL),
    (BotContext(language="en", unhelpful_streak=2), EscalationReason.UNHELPFUL_STREAK),
])
def test_unhelpful_answers_hand_over(engine, context, reason):
    [action] = engine.respond(context, "I can't remember my password")
    assert isinstance(action, Escalate) and action.reason is reason
    assert action.best_score is not None


def test_a_site_can_raise_the_line(engine):
    strict = BotContext(language="en", thresholds=SiteThresholds(min_confidence=1.01))
    [action] = engine.respond(strict, "I can't remember my password")
    assert isinstance(action, Escalate) and action.reason is EscalationReason.LOW_CONFIDENCE


def test_every_escalation_is_reported_with_its_best_score(bot_app):
    _, assistant, ids = bot_app
    reported: list[UnansweredQuestion] = []
    engine = assistant.engine
    logging_engine = KnowledgeBaseEngine(
        assistant.search, engine._embedder, engine._sessions, engine._detector,
        lambda: assistant.calibrator.model, engine.thresholds, assistant.fallback,
        on_unanswered=reported.append)
    context = BotContext(conversation_id=12, language="en", marked_unhelpful=True)
    logging_engine.respond(context, "where is my parcel")
    logging_engine.respond(BotContext(language="en"), "I can't remember my password")
    [question] = reported
    assert (question.conversation_id, question.text) == (12, "where is my parcel")
    assert question.reason is EscalationReason.MARKED_UNHELPFUL
    assert question.best_article_id == ids["parcel"] and question.best_score is not None


def test_questions_assessed_together_get_what_each_gets_alone(engine):
    questions = [("I can't remember my password", "en"), (ASKING_FOR_A_PERSON[0], "en"),
                 ("where is my parcel", "en"), ("où est mon colis", "fr")]
    together = engine.assess(questions)
    alone = [engine.assess([question])[0] for question in questions]
    assert [a.asks_for_human for a in together] == [False, True, False, False]
    assert [[hit.article_id for hit in a.hits] for a in together] == [
        [hit.article_id for hit in a.hits] for a in alone]
    assert together[0].hits and not together[1].hits
    assert [a.confidence for a in together] == pytest.approx(
        [a.confidence for a in alone], abs=1e-4)


@contextmanager
def article_reads(app: Flask) -> Iterator[list[str]]:
    """The SQL statements reading articles or their chunks while the block runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM articles" in statement or "FROM article_chunks" in statement:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_an_answer_given_once_is_given_again_without_reading_the_articles(bot_app, engine):
    context = BotContext(language="en")
    with article_reads(bot_app[0]) as first_reads:
        first = engine.respond(context, "how can I track my parcel?")
    with article_reads(bot_app[0]) as second_reads:
        again = engine.respond(context, "how can I track my parcel?")
    assert isinstance(first[0], Answer) and again == first
    assert first_reads and not second_reads


@pytest.mark.parametrize(("version", "kept"), [(1, True), (0, False)])
def test_a_reply_is_kept_only_for_the_current_version_of_its_article(bot_app, engine, version,
                                                                       kept):
    ids = bot_app[2]
    hit = SearchHit(ids["password"], version, chunk_id=-version - 1, score=1.0, dense=0.9,
                    lexical=None, classifier=None)
    decision = Decision(Outcome.ANSWER, (hit,), 0.9)
    engine.actions(BotContext(language="en"), "password", decision)
    with article_reads(bot_app[0]) as reads:
        [action] = engine.actions(BotContext(language="en"), "password", decision)
    assert isinstance(action, Answer) and action.citation.version == version
    assert action.text.startswith("Click Forgot password")
    assert bool(reads) is not kept


def test_hits_on_two_example_questions_of_an_article_share_one_reply(bot_app, engine):
    ids, context = bot_app[2], BotContext(language="en")
    first, second = (SearchHit(ids["password"], 1, chunk_id=chunk_id, score=1.0, dense=0.9,
                               lexical=None, classifier=None, from_question=True)
                     for chunk_id in (-11, -12))
    engine.actions(context, "password", Decision(Outcome.ANSWER, (first,), 0.9))
    with article_reads(bot_app[0]) as reads:
        [action] = engine.actions(context, "password", Decision(Outcome.ANSWER, (second,), 0.9))
    assert isinstance(action, Answer) and action.text.startswith("Click Forgot password")
    assert not reads
