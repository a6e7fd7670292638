"""The knowledge managers' UI under /kb, through the real forms (CSRF included)."""

import re

import pytest
from sqlalchemy.orm import selectinload

from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Role
from knowledge_base import articles
from knowledge_base.events import ArticleSaved
from knowledge_base.feedback import record_feedback
from knowledge_base.models import Article, ArticleStatus, UnansweredQuestion
from tests.helpers import csrf_token

FORM = {"title": "Returns", "body": "Within **30** days.", "language": "en",
        "audience": "public", "category": "Orders", "tags": "returns, Refunds",
        "example_questions": "Can I return my order?\n\n  How do refunds work?  \n"}


@pytest.fixture
def manager(make, auth):
    user = make.user(Role.KNOWLEDGE_MANAGER, email="kim@staff.example")
    auth.login(user.email)
    return user


def submit(client, path, data=None, **kwargs):
    """POST a form from /kb with its CSRF token."""
    token = csrf_token(client, "/kb/articles/new")
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


def create(client, **changes):
    response = submit(client, "/kb/articles/new", {**FORM, **changes})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/kb/articles/(\d+)$", response.headers["Location"]).group(1))


def load(app, article_id):
    with app.app_context():
        return db.session.get(Article, article_id, options=[selectinload(Article.questions)])


def test_a_manager_creates_edits_and_publishes(app, client, manager):
    article_id = create(client)
    page = client.get(f"/kb/articles/{article_id}").get_data(as_text=True)
    assert "Article created." in page and "<strong>30</strong>" in page
    saved = submit(client, f"/kb/articles/{article_id}", {**FORM, "body": "Within 60 days."},
                   follow_redirects=True)
    assert "Article saved." in saved.get_data(as_text=True)
    published = submit(client, f"/kb/articles/{article_id}/publish", follow_redirects=True)
    assert "Article published." in published.get_data(as_text=True)
    article = load(app, article_id)
    assert (article.status, article.current_version, article.body) == (
        ArticleStatus.PUBLISHED, 2, "Within 60 days.")
    assert article.tags == ["returns", "refunds"]
    assert article.example_questions == ["Can I return my order?", "How do refunds work?"]


def test_unpublish_and_archive_offer_only_the_moves_that_change_something(app, client,
                                                                          manager):
    article_id = create(client)
    draft = client.get(f"/kb/articles/{article_id}").get_data(as_text=True)
    assert f"/kb/articles/{article_id}/unpublish" not in draft
    submit(client, f"/kb/articles/{article_id}/archive")
    assert load(app, article_id).status == ArticleStatus.ARCHIVED
    again = submit(client, f"/kb/articles/{article_id}/archive", follow_redirects=True)
    assert "already archived" in again.get_data(as_text=True)
    submit(client, f"/kb/articles/{article_id}/unpublish")
    assert load(app, article_id).status == ArticleStatus.DRAFT


def test_a_refused_save_shows_the_editor_again_with_what_was_typed(app, client, manager):
    article_id = create(client)
    response = submit(client, f"/kb/articles/{article_id}",
                      {**FORM, "title": "  ", "body": "My long unsaved text"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "title is required" in page and "My long unsaved text" in page
    assert load(app, article_id).current_version == 1


def test_history_diffs_two_versions_and_restores_one(app, client, manager):
    article_id = create(client)
    submit(client, f"/kb/articles/{article_id}", {**FORM, "body": "Within 60 days.",
                                                   "title": "Returns and refunds"})
    history = client.get(f"/kb/articles/{article_id}/history").get_data(as_text=True)
    assert '<span class="diff-del">-Within **30** days.</span>' in history
    assert '<span class="diff-add">+Within 60 days.</span>' in history
    assert '<span class="diff-add">+Returns and refunds</span>' in history
    restored = submit(client, f"/kb/articles/{article_id}/versions/1/restore",
                      follow_redirects=True)
    assert "Version 1 restored as a new version." in restored.get_data(as_text=True)
    article = load(app, article_id)
    assert (article.current_version, article.title, article.body) == (
        3, "Returns", "Within **30** days.")
    unchanged = client.get(f"/kb/articles/{article_id}/history?a=1&b=3")
    assert "No differences." in unchanged.get_data(as_text=True)


def test_history_of_a_version_that_does_not_exist_is_a_404(client, manager):
    article_id = create(client)
    assert client.get(f"/kb/articles/{article_id}/history?a=1&b=9").status_code == 404


def test_the_preview_renders_markdown_and_drops_scripts(client, manager):
    response = submit(client, "/kb/preview", {
        "body": "# Hi\n\n<script>alert(1)</script>\n\n<a href='javascript:alert(2)'>x</a>\n\n"
                '<img src="x" onerror="alert(3)">'})
    html = response.get_data(as_text=True)
    assert "<h1>Hi</h1>" in html and "<img" in html and ">x</a>" in html
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html


def test_the_list_searches_and_filters(app, client, manager):
    create(client, title="Returns", body="Within 30 days.", category="Orders")
    create(client, title="Livraison", body="Sous 3 jours.", language="fr",
           category="Shipping")
    internal = create(client, title="Refund escalation", body="Call finance.",
                      audience="internal", category="Orders")

    def titles(query):
        page = client.get(f"/kb/?{query}").get_data(as_text=True)
        return set(re.findall(r'<a href="/kb/articles/\d+">([^<]+)</a>', page))

    assert titles("") == {"Returns", "Livraison", "Refund escalation"}
    assert titles("q=30+DAYS") == {"Returns"}
    assert titles("language=fr") == {"Livraison"}
    assert titles("audience=internal") == {"Refund escalation"}
    assert titles("category=Orders") == {"Returns", "Refund escalation"}
    submit(client, f"/kb/articles/{internal}/publish")
    assert titles("status=published") == {"Refund escalation"}
    assert titles("status=nonsense") == titles("")


def test_feedback_and_unanswered_views_show_what_readers_said(app, client, manager):
    article_id = create(client, title="Returns")
    submit(client, f"/kb/articles/{article_id}/publish")
    with app.app_context():
        for helpful, comment in ((True, ""), (False, "What about sale items?"),
                                 (True, "Clear, thanks")):
            with unit_of_work() as uow:
                record_feedback(uow, Actor("customer"), article_id, helpful=helpful,
                                comment=comment)
    feedback = client.get("/kb/feedback").get_data(as_text=True)
    row = re.search(r"Returns</a></td>\s*<td[^>]*>(\d+)</td>\s*<td[^>]*>(\d+)</td>", feedback)
    assert row.groups() == ("2", "1")
    assert "What about sale items?" in feedback and "Clear, thanks" in feedback
    unanswered = client.get("/kb/unanswered").get_data(as_text=True)
    assert "What about sale items?" in unanswered and "Clear, thanks" not in unanswered
    assert "The assistant has handed over no question yet." in unanswered
    with app.app_context(), unit_of_work() as uow:
        uow.session.add(UnansweredQuestion(text="Do you ship <b>to Mars</b>?", language="en",
                                           reason="low_confidence", best_score=0.41,
                                           best_article_id=article_id))
        uow.commit()
    unanswered = client.get("/kb/unanswered").get_data(as_text=True)
    assert "Do you ship &lt;b&gt;to Mars&lt;/b&gt;?" in unanswered
    assert "no article answered it well enough" in unanswered and "0.41" in unanswered


def test_every_save_is_a_version_recorded_for_the_manager(app, client, manager):
    seen = []
    with app.app_context():
        app.extensions["comptoir.events"].subscribe(ArticleSaved, seen.append)
    article_id = create(client)
    submit(client, f"/kb/articles/{article_id}", {**FORM, "body": "v2"})
    submit(client, f"/kb/articles/{article_id}", {**FORM, "body": "v2"})  # nothing changed
    assert [(e.version, e.actor.id) for e in seen] == [(1, manager.id), (2, manager.id)]
    with app.app_context():
        assert len(articles.list_versions(db.session, article_id)) == 2


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_other_staff_get_403_and_no_knowledge_link(client, make, auth, role):
    user = make.user(role)
    auth.login(user.email)
    assert client.get("/kb/").status_code == 403
    assert client.post("/kb/preview", data={"body": "x"}).status_code in (400, 403)
    assert 'href="/kb/"' not in client.get("/conversations").get_data(as_text=True)


def test_managers_and_admins_see_the_knowledge_link(client, make, auth):
    auth.login(make.user(Role.ADMIN).email)
    assert 'href="/kb/"' in client.get("/conversations").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/kb/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_forms_without_a_csrf_token_are_refused(app, client, manager):
    article_id = create(client)
    response = client.post(f"/kb/articles/{article_id}/publish")
    assert response.status_code == 400
    assert load(app, article_id).status == ArticleStatus.DRAFT


def test_the_editor_is_translated_into_french(client, make, auth):
    user = make.user(Role.KNOWLEDGE_MANAGER, locale="fr")
    auth.login(user.email)
    page = client.get("/kb/articles/new").get_data(as_text=True)
    assert "Nouvel article" in page and "Exemples de questions" in page

