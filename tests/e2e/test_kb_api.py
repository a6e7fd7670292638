"""/api/v1/kb: articles, versions, publication and search over HTTP."""

import pytest

from helpdesk.models import Role
from tests.e2e.api_helpers import ApiClient, error_of

RETURNS = {"title": "Returns", "body": "Send it back within **30** days.", "language": "en",
           "category": "Orders", "tags": ["Returns"], "audience": "public",
           "example_questions": ["Can I return my order?"]}


@pytest.fixture(scope="module")
def manager(module_app, module_make):
    user = module_make.user(Role.KNOWLEDGE_MANAGER)
    return ApiClient(module_app.test_client(),
                     module_make.token(user, ["knowledge:read", "knowledge:manage"]))


@pytest.fixture(scope="module")
def agent(module_app, module_make):
    return ApiClient(module_app.test_client(),
                     module_make.token(module_make.user(Role.AGENT), ["knowledge:read"]))


def create(api, **changes):
    response = api.post("/kb/articles", json={**RETURNS, **changes})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_read_and_patch_make_versions(manager):
    article = create(manager, external_id="ext-returns-api")
    assert (article["status"], article["version"], article["tags"]) == ("draft", 1, ["returns"])
    assert article["body_html"] == "<p>Send it back within <strong>30</strong> days.</p>\n"
    patched = manager.patch(f"/kb/articles/{article['id']}", json={"body": "Within 60 days."})
    assert patched.status_code == 200
    body = patched.get_json()
    assert (body["version"], body["body"], body["title"]) == (2, "Within 60 days.", "Returns")
    assert body["example_questions"] == ["Can I return my order?"]
    same = manager.patch(f"/kb/articles/{article['id']}", json={"body": "Within 60 days."})
    assert same.get_json()["version"] == 2  # nothing changed, no new version
    fetched = manager.get(f"/kb/articles/{article['id']}").get_json()
    assert fetched == body


def test_versions_list_newest_first_and_restore(manager):
    article_id = create(manager)["id"]
    manager.patch(f"/kb/articles/{article_id}", json={"title": "Returns and refunds"})
    versions = manager.get(f"/kb/articles/{article_id}/versions").get_json()["items"]
    assert [(v["number"], v["title"]) for v in versions] == [(2, "Returns and refunds"),
                                                            (1, "Returns")]
    restored = manager.post(f"/kb/articles/{article_id}/versions/1/restore")
    assert (restored.get_json()["version"], restored.get_json()["title"]) == (3, "Returns")
    missing = manager.post(f"/kb/articles/{article_id}/versions/9/restore")
    assert (missing.status_code, error_of(missing)["code"]) == (404, "not_found")


def test_publication_moves_and_refuses_a_move_to_the_same_status(manager):
    article_id = create(manager)["id"]
    assert manager.post(f"/kb/articles/{article_id}/publish").get_json()["status"] == \
        "published"
    again = manager.post(f"/kb/articles/{article_id}/publish")
    assert (again.status_code, error_of(again)["code"]) == (409, "invalid_transition")
    assert manager.post(f"/kb/articles/{article_id}/archive").get_json()["status"] == \
        "archived"
    assert manager.post(f"/kb/articles/{article_id}/unpublish").get_json()["status"] == "draft"


def test_list_filters(manager):
    marker = "zanzibar"
    create(manager, title=f"Ship to {marker}", category="Shipping")
    create(manager, title=f"Livrer à {marker}", language="fr", audience="internal")

    def titles(query):
        response = manager.get(f"/kb/articles?q={marker}&{query}")
        return sorted(a["title"] for a in response.get_json()["items"])

    assert titles("") == [f"Livrer à {marker}", f"Ship to {marker}"]
    assert titles("language=fr") == [f"Livrer à {marker}"]
    assert titles("audience=internal&status=draft") == [f"Livrer à {marker}"]
    assert titles("category=Shipping") == [f"Ship to {marker}"]
    assert titles("status=published") == []


def test_search_finds_published_articles_internal_ones_included(manager, agent):
    marker = "quokka"
    public = create(manager, title=f"Public {marker}")
    internal = create(manager, title=f"Internal {marker}", audience="internal")
    draft = create(manager, title=f"Draft {marker}")
    french = create(manager, title=f"Français {marker}", language="fr")
    for article in (public, internal, french):
        manager.post(f"/kb/articles/{article['id']}/publish")
    found = agent.get(f"/kb/search?q={marker}&lang=en").get_json()["items"]
    assert sorted(hit["article_id"] for hit in found) == sorted([public["id"], internal["id"]])
    assert {hit["version"] for hit in found} == {1}
    assert draft["id"] not in {hit["article_id"] for hit in agent.get(
        f"/kb/search?q={marker}").get_json()["items"]}
    assert len(agent.get(f"/kb/search?q={marker}&limit=1").get_json()["items"]) == 1


def test_a_search_hit_carries_the_matching_chunk_and_each_score(manager, agent):
    article = create(manager, title="Wombat care", body="# Feeding\nWombats eat grass.",
                     example_questions=["what does a wombat eat"])
    manager.post(f"/kb/articles/{article['id']}/publish")
    hit = agent.get("/kb/search?q=wombats+eat+grass").get_json()["items"][0]
    assert (hit["article_id"], hit["version"], hit["status"]) == (article["id"], 1, "published")
    assert hit["chunk"]["heading"] == "Feeding" and "grass" in hit["chunk"]["text"]
    assert hit["scores"]["dense"] > 0 and hit["scores"]["lexical"] > 0
    drafts = agent.get("/kb/search?q=wombat&status=draft").get_json()["items"]
    assert article["id"] not in {h["article_id"] for h in drafts}
    internal = agent.get("/kb/search?q=wombat&audience=internal").get_json()["items"]
    assert article["id"] not in {h["article_id"] for h in internal}


@pytest.mark.parametrize(("body", "field"), [
    ({"body": "no title"}, "title"),
    ({**RETURNS, "audience": "everyone"}, "audience"),
    ({**RETURNS, "language": "de"}, "language"),
    ({**RETURNS, "tags": "returns"}, "tags"),
    ({**RETURNS, "example_questions": [""]}, "example_questions"),
    ({**RETURNS, "status": "published"}, "status"),
])
def test_bad_articles_are_refused_naming_the_field(manager, body, field):
    response = manager.post("/kb/articles", json=body)
    assert response.status_code == 422
    assert field in error_of(response)["fields"]


def test_a_duplicate_external_id_is_a_conflict(manager):
    create(manager, external_id="ext-dup")
    response = manager.post("/kb/articles", json={**RETURNS, "external_id": "ext-dup"})
    assert (response.status_code, error_of(response)["code"]) == (409, "conflict")


def test_an_empty_patch_and_bad_search_arguments_are_refused(manager):
    article_id = create(manager)["id"]
    assert manager.patch(f"/kb/articles/{article_id}", json={}).status_code == 422
    for query in ("", "?q=", "?q=x&limit=0", "?q=x&limit=51", "?q=x&page=2",
                  "?q=x&status=deleted", "?q=x&audience=everyone"):
        assert manager.get(f"/kb/search{query}").status_code == 422, query


def test_agents_read_but_cannot_write(agent, manager):
    article_id = create(manager)["id"]
    assert agent.get(f"/kb/articles/{article_id}").status_code == 200
    response = agent.patch(f"/kb/articles/{article_id}", json={"title": "Mine"})
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
