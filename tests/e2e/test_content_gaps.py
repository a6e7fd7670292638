"""Content gaps over HTTP: /api/v1/kb/gaps and the knowledge managers' /kb/gaps pages."""

import re

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import Role
from knowledge_base.models import Article, ArticleStatus, UnansweredQuestion
from tests.e2e.api_helpers import ApiClient, error_of
from tests.helpers import csrf_token


@pytest.fixture(scope="module")
def manager(module_app, module_make):
    user = module_make.user(Role.KNOWLEDGE_MANAGER)
    return ApiClient(module_app.test_client(),
                     module_make.token(user, ["knowledge:read", "knowledge:manage"]))


def listed(api, **query) -> dict[int, dict]:
    response = api.get("/kb/gaps", query_string={"per_page": 100, **query})
    assert response.status_code == 200, response.get_json()
    return {gap["id"]: gap for gap in response.get_json()["items"]}


# API


def test_the_gaps_are_listed_with_their_label_counts_and_examples(module_make, manager):
    gap = module_make.content_gap("Can I pay with zebracoins?")
    item = listed(manager)[gap]
    assert (item["label"], item["status"], item["article"], item["questions"]) == (
        "Can I pay with zebracoins?", "open", None, 1)
    assert (item["last_7_days"], item["previous_7_days"], item["growth"]) == (1, 0, 1)
    [example] = item["examples"]
    assert example["text"] == item["label"] and example["conversation_id"]
    assert example["reason"] == "low_confidence" and example["asked_at"]
    assert manager.get(f"/kb/gaps/{gap}").get_json()["examples"] == [example]
    assert gap in listed(manager, sort="growth", status="any")
    assert gap not in listed(manager, status="dismissed")


def test_bad_filters_and_unknown_gaps_are_refused_by_name(manager):
    response = manager.get("/kb/gaps", query_string={"status": "solved", "sort": "size"})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"status", "sort"}
    assert error_of(manager.get("/kb/gaps/404040"))["code"] == "not_found"


def test_a_gap_is_dismissed_reopened_and_marked_covered(module_make, manager):
    gap = module_make.content_gap("Do you repair velvet armchairs?")
    dismissed = manager.post(f"/kb/gaps/{gap}/status", json={"status": "dismissed"})
    assert (dismissed.status_code, dismissed.get_json()["status"]) == (200, "dismissed")
    assert gap in listed(manager, status="dismissed")
    refused = manager.post(f"/kb/gaps/{gap}/status", json={"status": "covered"})
    assert (refused.status_code, error_of(refused)["fields"]) == (422, {
        "article_id": ["article_id is required to mark a gap covered, and only then"]})
    article = module_make.article("Armchairs")
    covered = manager.post(f"/kb/gaps/{gap}/status",
                           json={"status": "covered", "article_id": article.id}).get_json()
    assert (covered["status"], covered["article"]) == ("covered", {
        "id": article.id, "title": "Armchairs", "status": "draft"})


def test_a_draft_article_is_made_from_the_agents_replies(module_app, module_make, manager):
    gap = module_make.content_gap("Do you gift wrap parcels?",
                                  "Yes, gift wrapping is free: tick the box at checkout.")
    response = manager.post(f"/kb/gaps/{gap}/draft")
    assert response.status_code == 201, response.get_json()
    article = response.get_json()
    assert (article["status"], article["title"], article["example_questions"]) == (
        "draft", "Do you gift wrap parcels?", ["Do you gift wrap parcels?"])
    assert article["body"] == "Yes, gift wrapping is free: tick the box at checkout."
    covered = manager.get(f"/kb/gaps/{gap}").get_json()
    assert (covered["status"], covered["article"]["id"]) == ("covered", article["id"])
    again = manager.post(f"/kb/gaps/{gap}/draft")  # a retry drafts nothing more
    assert (again.status_code, error_of(again)["fields"]) == (409, {"cluster_id": [
        f"this gap is covered by article {article['id']}; reopen it to draft another"]})


def test_a_gap_without_agent_replies_cannot_be_drafted(module_app, module_make, manager):
    gap = module_make.content_gap("Is the showroom open on Mondays?", reply=None)
    response = manager.post(f"/kb/gaps/{gap}/draft")
    assert (response.status_code, error_of(response)["code"]) == (409, "conflict")


def test_clustering_on_demand_places_the_questions_waiting(module_app, module_make, manager):
    conversation = module_make.conversation(body="Can I book a fitting?")
    with module_app.app_context():
        db.session.add(UnansweredQuestion(text="Can I book a fitting?", reason="low_confidence",
                                          language="en", conversation_id=conversation.id))
        db.session.commit()
    assert manager.post("/kb/gaps/refresh").get_json() == {"clustered": 1}
    assert manager.post("/kb/gaps/refresh").get_json() == {"clustered": 0}
    assert "Can I book a fitting?" in {g["label"] for g in listed(manager).values()}


# Pages


@pytest.fixture
def kim(make, auth):
    user = make.user(Role.KNOWLEDGE_MANAGER, email="kim@staff.example")
    auth.login(user.email)
    return user


def submit(client, path, data=None, **kwargs):
    token = csrf_token(client, "/kb/gaps")
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


def test_a_manager_reviews_dismisses_and_reopens_a_gap(app, make, client, kim):
    gap = make.content_gap("Do you ship <b>to Mars</b>?")
    page = client.get("/kb/gaps").get_data(as_text=True)
    assert 'href="/kb/gaps"' in page and "Content gaps" in page
    assert "Do you ship &lt;b&gt;to Mars&lt;/b&gt;?" in page and "<b>to Mars" not in page
    assert "1 content gap" in page and "+1" in page
    detail = client.get(f"/kb/gaps/{gap}").get_data(as_text=True)
    assert "no article answered it well enough" in detail
    assert "/conversations/" not in detail  # a knowledge manager cannot open conversations

    dismissed = submit(client, f"/kb/gaps/{gap}/status",
                       {"status": "dismissed", "next": "/kb/gaps?status=open"})
    assert dismissed.headers["Location"] == "/kb/gaps?status=open"
    assert "No content gap here." in client.get("/kb/gaps").get_data(as_text=True)
    assert "Mars" in client.get("/kb/gaps?status=dismissed").get_data(as_text=True)
    submit(client, f"/kb/gaps/{gap}/status", {"status": "open"})
    reopened = client.get(f"/kb/gaps/{gap}").get_data(as_text=True)
    assert "Content gap updated." in reopened
    refused = submit(client, f"/kb/gaps/{gap}/status", {"status": "covered",
                                                         "article_id": "abc"},
                     follow_redirects=True)
    assert "Please check what you entered." in refused.get_data(as_text=True)


def test_a_manager_drafts_the_article_and_lands_in_the_editor(app, make, client, kim):
    gap = make.content_gap("Can I return a <i>sofa</i>?",
                           "Yes, within 30 days: we <b>collect</b> it.")
    response = submit(client, f"/kb/gaps/{gap}/draft")
    article_id = int(re.search(r"/kb/articles/(\d+)$", response.headers["Location"]).group(1))
    editor = client.get(f"/kb/articles/{article_id}").get_data(as_text=True)
    assert "Draft created from the agents&#39; replies" in editor
    # The reply's text, escaped in the Markdown source and in the preview: no markup.
    assert "Yes, within 30 days: we \\&lt;b&gt;collect\\&lt;/b&gt; it.</textarea>" in editor
    assert "<p>Yes, within 30 days: we &amp;lt;b&amp;gt;collect" not in editor
    assert "<p>Yes, within 30 days: we &lt;b&gt;collect&lt;/b&gt; it.</p>" in editor
    assert "<b>collect" not in editor and "<i>sofa" not in editor
    with app.app_context():
        assert db.session.get(Article, article_id).status == ArticleStatus.DRAFT
    covered = client.get("/kb/gaps?status=covered").get_data(as_text=True)
    assert f'href="/kb/articles/{article_id}"' in covered


def test_an_admin_follows_a_question_to_its_conversation(app, make, client, auth):
    gap = make.content_gap("Can I pay in three instalments?")
    auth.login(make.user(Role.ADMIN).email)
    with app.app_context():
        conversation_id = db.session.scalar(select(UnansweredQuestion.conversation_id))
    detail = client.get(f"/kb/gaps/{gap}").get_data(as_text=True)
    assert f'href="/conversations/{conversation_id}"' in detail


def test_the_refresh_button_clusters_the_waiting_questions(app, make, client, kim):
    conversation = make.conversation(body="Is the sofa fabric washable?")
    with app.app_context():
        db.session.add(UnansweredQuestion(text="Is the sofa fabric washable?",
                                          reason="low_confidence", language="en",
                                          conversation_id=conversation.id))
        db.session.commit()
    page = submit(client, "/kb/gaps/refresh", follow_redirects=True).get_data(as_text=True)
    assert "1 new question clustered." in page and "Is the sofa fabric washable?" in page


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.KNOWLEDGE_MANAGER, True), (Role.ADMIN, True), (Role.SUPERVISOR, False),
    (Role.AGENT, False)])
def test_only_knowledge_managers_and_admins_see_and_draft_the_gaps(app, make, client, auth,
                                                                    role, allowed):
    gap = make.content_gap("Do you sell spare lamp shades?")
    auth.login(make.user(role).email)
    token = csrf_token(client, "/account")
    expected = 200 if allowed else 403
    assert client.get("/kb/gaps").status_code == expected
    assert client.get(f"/kb/gaps/{gap}").status_code == expected
    drafted = client.post(f"/kb/gaps/{gap}/draft", data={"csrf_token": token})
    assert drafted.status_code == (302 if allowed else 403)
    with app.app_context():
        assert (db.session.scalar(select(func.count()).select_from(Article)) == 1) is allowed
