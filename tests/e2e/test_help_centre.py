"""The public help centre under /help: only published public articles, in fr and en."""

import pytest
from sqlalchemy import select

from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import TimelineEvent
from knowledge_base import articles
from knowledge_base.feedback import ArticleFeedback, record_feedback
from knowledge_base.models import ArticleContent
from tests.helpers import csrf_token


@pytest.fixture
def write(app):
    """Create an article through the service; ``status``: publish or archive it too."""
    def write(title, body="Some text.", *, language="en", category="", audience="public",
              status="published"):
        content = ArticleContent(title=title, body=body, language=language, category=category,
                                 audience=audience)
        with app.app_context(), unit_of_work() as uow:
            article = articles.create_article(uow, SYSTEM, content)
            if status != "draft":
                getattr(articles, {"published": "publish", "archived": "archive"}[status])(
                    uow, SYSTEM, article.id)
            return article.id
    return write


def test_help_sends_visitors_to_their_browser_language(client):
    assert client.get("/help/", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).headers[
        "Location"] == "/help/fr/"
    assert client.get("/help/", headers={"Accept-Language": "de"}).headers[
        "Location"] == "/help/en/"


def test_the_home_lists_published_public_articles_by_category(client, write):
    write("Return an item", category="Orders")
    write("Track a parcel", category="Shipping")
    write("Internal refund policy", category="Orders", audience="internal")
    write("Draft article", category="Orders", status="draft")
    write("Old article", category="Orders", status="archived")
    write("Retourner un article", language="fr", category="Commandes")
    page = client.get("/help/en/").get_data(as_text=True)
    assert page.index("Orders") < page.index("Return an item") < page.index("Shipping")
    for hidden in ("Internal refund policy", "Draft article", "Old article",
                   "Retourner un article"):
        assert hidden not in page
    french = client.get("/help/fr/").get_data(as_text=True)
    assert "Retourner un article" in french and "Return an item" not in french


def test_an_article_has_one_clean_url(client, write):
    article_id = write("Où est mon colis ?", "Suivez **le lien**.", language="fr")
    canonical = f"/help/fr/articles/{article_id}-ou-est-mon-colis"
    page = client.get(canonical)
    assert page.status_code == 200
    assert "<strong>le lien</strong>" in page.get_data(as_text=True)
    for other in (f"/help/fr/articles/{article_id}", f"/help/fr/articles/{article_id}-old-title",
                  f"/help/en/articles/{article_id}-ou-est-mon-colis"):
        response = client.get(other)
        assert (response.status_code, response.headers["Location"]) == (301, canonical)
    assert f'href="{canonical}"' in client.get("/help/fr/").get_data(as_text=True)


def test_article_bodies_are_sanitized(client, write):
    article_id = write("Tricky", "<script>alert(1)</script>\n\n"
                                 "<a href=\"javascript:alert(2)\" onclick=\"x()\">link</a>")
    page = client.get(f"/help/en/articles/{article_id}-tricky").get_data(as_text=True)
    assert ">link</a>" in page
    assert "<script>alert" not in page and "javascript:" not in page and "onclick" not in page


@pytest.mark.parametrize(("audience", "status"), [("internal", "published"),
                                                  ("public", "draft"),
                                                  ("public", "archived")])
def test_hidden_articles_are_404(client, write, audience, status):
    article_id = write("Hidden", audience=audience, status=status)
    response = client.get(f"/help/en/articles/{article_id}-hidden")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    assert client.get(f"/help/en/articles/{article_id}").status_code == 404


def test_unknown_articles_and_languages_are_404(client):
    assert client.get("/help/en/articles/999-nothing").status_code == 404
    assert client.get("/help/de/").status_code == 404


def test_search_finds_only_published_public_articles_in_the_language(client, write):
    write("Return an item", "Send it back within 30 days.")
    write("Internal returns", "Returns desk only.", audience="internal")
    write("Draft returns", status="draft")
    write("Retours", "Renvoyez l'article (returns).", language="fr")
    page = client.get("/help/en/search?q=RETURN").get_data(as_text=True)
    assert "Return an item" in page
    for hidden in ("Internal returns", "Draft returns", "Retours"):
        assert hidden not in page
    assert "No article matches" in client.get("/help/en/search?q=zebra").get_data(as_text=True)


def test_search_shows_the_matching_passage_escaped(client, write):
    write("Lamp safety", "# Bulbs\nUnplug the lamp <script>alert(1)</script> first.")
    page = client.get("/help/en/search?q=unplug+lamp").get_data(as_text=True)
    assert "Unplug the lamp &lt;script&gt;alert(1)&lt;/script&gt; first." in page
    assert "<script>alert" not in page


def test_feedback_is_recorded_against_the_version_read(app, client, write):
    article_id = write("Return an item")
    url = f"/help/en/articles/{article_id}-return-an-item"
    token = csrf_token(client, url)
    response = client.post(f"/help/en/articles/{article_id}/feedback", follow_redirects=True,
                           data={"helpful": "no", "comment": " Sale items? ",
                                 "csrf_token": token})
    assert "Thank you for your feedback." in response.get_data(as_text=True)
    client.post(f"/help/en/articles/{article_id}/feedback",
                data={"helpful": "yes", "csrf_token": token})
    with app.app_context():
        votes = db.session.scalars(select(ArticleFeedback).order_by(ArticleFeedback.id)).all()
        assert [(v.article_id, v.version, v.helpful, v.comment, v.customer_id) for v in votes] \
            == [(article_id, 1, False, "Sale items?", None), (article_id, 1, True, "", None)]


def test_feedback_on_a_hidden_article_is_not_recorded(app, client, write):
    article_id = write("Internal", audience="internal")
    token = csrf_token(client, f"/help/en/articles/{write('Public')}-public")
    client.post(f"/help/en/articles/{article_id}/feedback",
                data={"helpful": "yes", "csrf_token": token})
    with app.app_context():
        assert db.session.scalars(select(ArticleFeedback)).all() == []


def test_feedback_without_a_csrf_token_is_refused(client, write):
    article_id = write("Return an item")
    response = client.post(f"/help/en/articles/{article_id}/feedback", data={"helpful": "yes"})
    assert response.status_code == 400


def test_a_known_customers_feedback_goes_to_their_timeline(app, make, write):
    customer = make.customer()
    article_id = write("Return an item")
    with app.app_context(), unit_of_work() as uow:
        record_feedback(uow, Actor("customer", customer.id), article_id, helpful=False,
                        customer_id=customer.id)
    with app.app_context():
        event = db.session.scalar(select(TimelineEvent).where(
            TimelineEvent.customer_id == customer.id, TimelineEvent.type == "article.feedback"))
        assert event.payload == {"article_id": article_id, "version": 1, "helpful": False,
                                 "title": "Return an item"}


def test_the_help_centre_speaks_the_language_of_its_url(client, write):
    write("Retourner un article", language="fr")
    page = client.get("/help/fr/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="fr">' in page and "Centre d\u2019aide" in page
    english = client.get("/help/en/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="en">' in english and "Help centre" in english
    assert 'href="/help/en/"' in page and 'href="/help/fr/"' in english
