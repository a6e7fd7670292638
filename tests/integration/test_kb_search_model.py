"""Search with the real packaged model (all-MiniLM-L6-v2) and real faiss, offline."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from helpdesk import create_app, migrate
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from knowledge_base import articles
from knowledge_base.models import ArticleContent
from knowledge_base.search import SearchFilters, search_service

KB = {
    "parcel": ArticleContent(
        title="Track your parcel", language="en",
        body="# Tracking\nEvery shipment has a tracking number in the confirmation email.\n\n"
             "# Delays\nCarriers deliver within three working days.",
        example_questions=["Where is my order?", "My package hasn't arrived yet"]),
    "refund": ArticleContent(
        title="Refunds", language="en",
        body="We refund returned items within 14 days, to the card you paid with.",
        example_questions=["Can I get my money back?"]),
    "lamp": ArticleContent(
        title="Replacing the LX-4402 bulb", language="en",
        body="The LX-4402 lamp takes a G9 LED bulb. Unplug it before opening the shade."),
    "password": ArticleContent(
        title="Réinitialiser votre mot de passe", language="fr",
        body="Cliquez sur « Mot de passe oublié » sur la page de connexion.",
        example_questions=["Je n'arrive plus à me connecter"]),
}


@pytest.fixture(scope="module")
def model_app(tmp_path_factory) -> Iterator[tuple[Flask, dict[str, int]]]:
    folder: Path = tmp_path_factory.mktemp("model")
    app = create_app({"database_url": f"sqlite:///{folder / 'kb.db'}",
                      "instance_path": str(folder / "instance"), "secret_key": "test-secret",
                      "testing": True})
    with app.app_context():
        migrate.upgrade(db.engine)
        ids = {name: _publish(content) for name, content in KB.items()}
        search_service(app).settle()
        yield app, ids
        db.engine.dispose()


def _publish(content: ArticleContent) -> int:
    with unit_of_work() as uow:
        article_id = articles.create_article(uow, SYSTEM, content).id
    with unit_of_work() as uow:
        articles.publish(uow, SYSTEM, article_id)
    return article_id


def best(app: Flask, text: str, language: str | None = "en") -> int | None:
    hits = search_service(app).search(text, SearchFilters(language=language), 3)
    return hits[0].article_id if hits else None


@pytest.mark.parametrize(("question", "expected"), [
    ("the courier still hasn't delivered my stuff", "parcel"),
    ("I want a reimbursement", "refund"),
    ("LX-4402", "lamp"),
])
def test_the_model_finds_the_article_that_answers(model_app, question, expected):
    app, ids = model_app
    assert best(app, question) == ids[expected]


def test_a_language_filter_keeps_other_languages_out(model_app):
    app, ids = model_app
    assert best(app, "mot de passe oublié", language="fr") == ids["password"]
    assert best(app, "mot de passe oublié", language="en") != ids["password"]


def test_the_hit_cites_the_indexed_version_and_chunk(model_app):
    app, ids = model_app
    hit = search_service(app).search("how long do carriers take to deliver",
                                     SearchFilters(), 1)[0]
    assert (hit.article_id, hit.version) == (ids["parcel"], 1)
    assert hit.dense is not None and hit.dense > 0.3
