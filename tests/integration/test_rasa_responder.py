"""Live chats answered by the Rasa engine (a fake Rasa): replies with buttons and images
land as bot messages, a handoff payload hands over, and Rasa hears nothing after that;
Rasa down, the built-in engine answers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import responder
from bot.rasa_engine import HttpRasaClient, RasaEngine, RasaError
from bot.service import assistant, chat_engine
from helpdesk import create_app
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, socketio, unit_of_work
from helpdesk.models import Conversation, Owner
from knowledge_base import articles
from knowledge_base.models import ArticleContent, UnansweredQuestion
from knowledge_base.search import search_service
from tests.fakes import FakeEmbedder, FakeRasaClient

NS = "/chat"
BUTTONS = [{"recipient_id": "1", "text": "Is your order late?", "buttons": [
    {"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]}]
HANDOFF = [{"recipient_id": "1", "text": "Let me find someone."},
           {"recipient_id": "1", "custom": {"handoff": {"reason": "asked_for_human",
                                                        "queue": "Billing"}}}]


@pytest.fixture
def rasa(app) -> FakeRasaClient:
    client = FakeRasaClient()
    responder.init_app(app, lambda: RasaEngine(client, fallback=assistant(app).engine))
    return client


@pytest.fixture
def site(make):
    return make.site(queue_id=make.queue("Chat").id, language="en")


@pytest.fixture
def chat(app, site):
    sio = socketio.test_client(app, namespace=NS, auth={"site": site.key, "locale": "en"})
    conversation_id = sio.emit("conversation.start", {}, namespace=NS,
                               callback=True)["conversation"]["id"]
    sio.get_received(NS)
    yield sio, conversation_id
    sio.disconnect(namespace=NS)


def say(sio, conversation_id: int, text: str, client_id: str, **extra) -> list[dict]:
    """Send a customer message; the bot messages that came back."""
    reply = sio.emit("message.send", {"conversation_id": conversation_id, "body": text,
                                      "client_id": client_id, **extra},
                     namespace=NS, callback=True)
    assert reply["ok"], reply
    return [r["args"] for r in sio.get_received(NS) if r["name"] == "message"
            and r["args"]["author"]["kind"] == "bot"]


def conversation(app, conversation_id: int) -> Conversation:
    with app.app_context():
        return db.session.get(Conversation, conversation_id)


def test_a_reply_with_buttons_lands_as_a_bot_message(rasa, chat):
    sio, conversation_id = chat
    rasa.answer = BUTTONS
    [message] = say(sio, conversation_id, "my order", "c-1")
    assert message["body"] == "Is your order late?"
    assert message["options"] == [{"label": "Yes", "payload": "/affirm"},
                                  {"label": "No", "payload": "/deny"}]
    assert rasa.sent == [(str(conversation_id), "my order", {"language": "en"})]


def test_a_pressed_button_shows_its_title_and_sends_rasa_its_payload(rasa, chat):
    sio, conversation_id = chat
    rasa.answer = BUTTONS
    say(sio, conversation_id, "my order", "c-1")
    rasa.answer = [{"recipient_id": "1", "text": "Sorry about that."}]
    [message] = say(sio, conversation_id, "Yes", "c-2", choice={"payload": "/affirm"})
    assert message["body"] == "Sorry about that."
    assert rasa.sent[-1][1] == "/affirm"


def test_an_image_and_several_texts_are_messages_in_order(rasa, chat):
    sio, conversation_id = chat
    rasa.answer = [{"text": "Here is the Orbe."}, {"image": "https://shop.example/orbe.png"},
                   {"text": "Anything else?"}]
    first, picture, last = say(sio, conversation_id, "show me the orbe", "c-1")
    assert (first["body"], first["image"]) == ("Here is the Orbe.", None)
    assert picture["image"] == picture["body"] == "https://shop.example/orbe.png"
    assert last["body"] == "Anything else?" and first["seq"] < picture["seq"] < last["seq"]


def test_a_cited_answer_asks_for_feedback_like_the_built_in_one(rasa, chat):
    sio, conversation_id = chat
    citation = {"article_id": 3, "version": 1, "title": "Returns", "url": "/help/en/3"}
    rasa.answer = [{"text": "You have 30 days."}, {"custom": {"citation": citation}}]
    [answer] = say(sio, conversation_id, "how long to return", "c-1")
    assert answer["citations"] == [citation] and answer["feedback"] is True


def test_a_handoff_payload_hands_over_and_rasa_hears_nothing_more(app, make, rasa, chat):
    sio, conversation_id = chat
    billing = make.queue("Billing")
    rasa.answer = HANDOFF
    replies = say(sio, conversation_id, "I want to talk to a person", "c-1")
    assert replies[0]["body"] == "Let me find someone."
    assert replies[-1]["options"] == [{"kind": "leave_contact", "label": ""}]  # nobody online
    handed = conversation(app, conversation_id)
    assert (handed.owner, handed.queue_id) == (Owner.QUEUE, billing.id)
    assert handed.handoff["reason"] == "asked_for_human"
    assert handed.handoff["summary"] == "I want to talk to a person"

    assert say(sio, conversation_id, "hello?", "c-2") == []
    assert len(rasa.sent) == 1  # people own the conversation: nothing goes to Rasa
    with app.app_context():
        [logged] = db.session.scalars(select(UnansweredQuestion)).all()
        assert logged.reason == "asked_for_human"


def test_a_handoff_to_an_unknown_queue_goes_to_the_site_s_queue(app, rasa, chat, site,
                                                                 caplog):
    sio, conversation_id = chat
    rasa.answer = [{"custom": {"handoff": {"reason": "form_failed", "queue": "Nowhere"}}}]
    say(sio, conversation_id, "help", "c-1")
    handed = conversation(app, conversation_id)
    assert (handed.owner, handed.queue_id) == (Owner.QUEUE, site.queue_id)
    assert handed.handoff["reason"] == "assistant_handoff"
    assert "no queue is named 'Nowhere'" in caplog.text


def test_rasa_saying_nothing_posts_nothing(rasa, chat):
    sio, conversation_id = chat
    assert say(sio, conversation_id, "ok", "c-1") == []
    assert len(rasa.sent) == 1


def test_rasa_down_the_built_in_engine_answers(app, rasa, chat):
    sio, conversation_id = chat
    _publish(app, ArticleContent(title="Track a parcel", language="en",
                                 body="Your tracking number is in the confirmation email.",
                                 example_questions=["where is my parcel", "track my order"]))
    rasa.answer = RasaError("cannot reach http://127.0.0.1:5005/webhooks/rest/webhook")
    [answer] = say(sio, conversation_id, "where is my parcel", "c-1")
    assert "tracking number" in answer["body"] and answer["citations"]
    assert conversation(app, conversation_id).owner == Owner.BOT


def test_the_settings_choose_the_engine(tmp_path, migrated_url):
    app = create_app({"database_url": migrated_url, "instance_path": str(tmp_path / "i"),
                      "secret_key": "x", "testing": True, "bot_engine": "rasa",
                      "rasa_url": "http://127.0.0.1:5005", "rasa_timeout_seconds": 2.5},
                     embedder_factory=FakeEmbedder)
    engine = chat_engine(app)
    assert isinstance(engine, RasaEngine) and isinstance(engine.client, HttpRasaClient)
    assert (engine.client.endpoint, engine.client.timeout) == (
        "http://127.0.0.1:5005/webhooks/rest/webhook", 2.5)
    assert engine.fallback is assistant(app).engine
    search_service(app).settle()
    with app.app_context():
        db.engine.dispose()


def test_the_built_in_engine_is_the_default(app):
    assert chat_engine(app) is assistant(app).engine


def _publish(app, content: ArticleContent) -> None:
    with app.app_context():
        with unit_of_work() as uow:
            article_id = articles.create_article(uow, SYSTEM, content).id
        with unit_of_work() as uow:
            articles.publish(uow, SYSTEM, article_id)
        search_service(app).settle()
