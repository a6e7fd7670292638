"""Content gaps with the real packaged model (all-MiniLM-L6-v2), on both databases:
paraphrases of four topics, asked in turn with unrelated messages among them, must come
out as four clusters and the noise alone, at the default threshold."""

from collections.abc import Iterator
from itertools import chain, zip_longest

import pytest
from flask import Flask

from helpdesk import create_app
from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from knowledge_base import gaps
from knowledge_base.gaps.drafting import draft_article
from knowledge_base.gaps.queries import GapFilter, list_gaps
from knowledge_base.models import Article
from knowledge_base.search import search_service
from knowledge_base.search.embedder import PACKAGED_MODEL, SentenceTransformerEmbedder
from tests.factories import Factory
from tests.integration.content_gaps import NOW, ask, cluster_of, clusters, reply

TOPICS = {
    "gift cards": ["Do you sell gift cards?", "Can I buy a gift voucher for a friend?",
                   "Is it possible to purchase a gift card online?",
                   "I'd like to offer a gift certificate",
                   "Where can I get a gift card for your shop?"],
    "shipping abroad": ["Do you ship to Canada?", "Can you deliver to Japan?",
                        "Is international shipping available?", "Do you send orders abroad?",
                        "Can I get my order delivered outside of France?"],
    "invoices": ["How do I get an invoice for my order?",
                 "I need a VAT invoice for my purchase",
                 "Can you send me a receipt for my order?", "Where can I download my invoice?",
                 "I need a bill for accounting"],
    "lamp assembly": ["How do I assemble the floor lamp?",
                      "The lamp came in pieces, how do I put it together?",
                      "Is there an assembly manual for the lamp?",
                      "I can't figure out how to mount the lamp stand"],
}
NOISE = ["My cat sat on the keyboard", "What is the weather in Lyon tomorrow?", "Thanks, bye"]
# The topics in turn, as customers ask them, a noise message after every seven questions.
TURNS = [q for q in chain.from_iterable(zip_longest(*TOPICS.values())) if q]
ASKED = [*TURNS[:7], NOISE[0], *TURNS[7:14], NOISE[1], *TURNS[14:], NOISE[2]]
GIFT_REPLIES = [
    "Yes! Gift cards are sold in every shop and online, from 10 to 500 euros.",
    "You can buy a gift card online or in our shops, for any amount from 10 euros.",
    "Yes! Gift cards are sold in every shop and online, from 10 to 500 euros.",
    "Our gift cards are valid one year and can be bought online from 10 euros.",
    "Sorry for the wait, I am checking with a colleague.",
]


@pytest.fixture(scope="session")
def minilm() -> SentenceTransformerEmbedder:
    """The model, loaded once for the session (it takes seconds)."""
    return SentenceTransformerEmbedder(PACKAGED_MODEL)


@pytest.fixture
def model_app(migrated_url, tmp_path, minilm) -> Iterator[Flask]:
    app = create_app({"database_url": migrated_url, "instance_path": str(tmp_path / "i"),
                      "secret_key": "test-secret", "testing": True},
                     embedder_factory=lambda: minilm)
    yield app
    search_service(app).settle()
    with app.app_context():
        db.engine.dispose()


def test_paraphrases_cluster_by_topic_and_noise_stays_alone(model_app):
    make = Factory(model_app)
    conversations = {text: ask(make, text) for text in ASKED}
    with model_app.app_context():
        assert gaps.refresh_now() == len(ASKED)
        expected = [*(sorted(topic) for topic in TOPICS.values()), *([n] for n in NOISE)]
        assert sorted(map(sorted, clusters())) == sorted(expected)
        ranked = list_gaps(db.session, GapFilter(), NOW).items
        assert [gap.questions for gap in ranked] == [5, 5, 5, 4, 1, 1, 1]
        for gap, topic in zip(ranked, ["gift cards", "shipping abroad", "invoices",
                                       "lamp assembly"], strict=False):
            assert gap.label in TOPICS[topic]
        gift = cluster_of(TOPICS["gift cards"][0])

    for text, body in zip(TOPICS["gift cards"], GIFT_REPLIES, strict=True):
        reply(make, conversations[text], body)
    with model_app.app_context(), unit_of_work() as uow:
        article_id = draft_article(uow, Actor("agent", make.user().id), gift,
                                   search_service(model_app).embedder).id
        body = db.session.get(Article, article_id).body
    # The three representative replies, the repeated macro once, not the holding message.
    assert body.count("Gift cards are sold in every shop") == 1
    assert "any amount from 10 euros" in body and "valid one year" in body
    assert "checking with a colleague" not in body
