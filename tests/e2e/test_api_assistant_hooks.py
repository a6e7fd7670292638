"""The API an outside assistant (Rasa's custom actions) calls, over HTTP: the knowledge
base's answer, handoff, follow-ups by email and the order lookup."""

from __future__ import annotations

import pytest

from bot.service import assistant
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.integrations.orders import EXTENSION
from helpdesk.models import Conversation, Role, Site
from helpdesk.services import chat
from knowledge_base import importer
from knowledge_base.models import Article
from knowledge_base.search import search_service
from tests.e2e.api_helpers import ApiClient, error_of
from tests.factories import Factory
from tests.integration.bot_kb import write_kb


@pytest.fixture
def api(module_admin) -> ApiClient:
    return module_admin


@pytest.fixture
def make(module_make) -> Factory:
    return module_make


def bot_chat(make: Factory, site: Site) -> int:
    """A new live chat on ``site``, owned by the assistant."""
    with make.app.app_context(), unit_of_work() as uow:
        visitor = chat.Visitor(site.id, chat.new_visitor_token())
        return chat.start_chat(uow, site, visitor).id


def messages(api: ApiClient, conversation_id: int) -> list[dict]:
    return api.get(f"/conversations/{conversation_id}/messages").get_json()["items"]


def client_with(app, make: Factory, role: Role, scopes: list[str]) -> ApiClient:
    return ApiClient(app.test_client(), make.token(make.user(role), scopes))


# --- GET /kb/answer ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def shop_kb(module_app, tmp_path_factory) -> dict[str, int]:
    """The small shop's published articles (fake embedder), the assistant calibrated."""
    path = write_kb(tmp_path_factory.mktemp("kb") / "kb.jsonl")
    with module_app.app_context():
        assert not importer.import_entries(importer.read_path(path), unit_of_work,
                                           SYSTEM).rejected
        ids = {a.external_id: a.id for a in db.session.query(Article)}
    assistant(module_app)
    search_service(module_app).settle()
    return ids


def test_a_question_the_knowledge_base_answers_comes_with_its_article(api, shop_kb):
    response = api.get("/kb/answer", query_string={"q": "I forgot my password", "lang": "en"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["answered"], body["reason"]) == (True, None)
    assert body["text"] == ("Click Forgot password on the login page and follow the link we "
                            "e-mail you.")
    assert 0.0 < body["confidence"] <= 1.0
    assert body["citation"] == {
        "article_id": shop_kb["password"], "version": 1, "title": "Reset your password",
        "url": f"/help/en/articles/{shop_kb['password']}-reset-your-password"}


def test_a_question_it_cannot_answer_says_why(api, shop_kb):
    body = api.get("/kb/answer", query_string={"q": "what is the weather tomorrow in Lyon?",
                                                "lang": "en"}).get_json()
    assert (body["answered"], body["text"], body["citation"]) == (False, None, None)
    assert body["reason"] == "low_confidence" and 0.0 <= body["confidence"] < 0.5


@pytest.mark.parametrize("language", ["fr", "pt-BR"])
def test_no_article_in_the_language_asked_means_no_answer(api, shop_kb, language):
    body = api.get("/kb/answer", query_string={"q": "I forgot my password",
                                                "lang": language}).get_json()
    assert body == {"answered": False, "text": None, "confidence": None, "citation": None,
                    "reason": "no_articles"}


@pytest.mark.parametrize(("query", "field"), [
    ({}, "q"),
    ({"q": ""}, "q"),
    ({"q": "   "}, "q"),
    ({"q": "x" * 2001}, "q"),
    ({"q": "refund", "lang": "English"}, "lang"),
    ({"q": "refund", "limit": "3"}, "limit"),
])
def test_a_bad_question_is_refused_naming_the_parameter(api, query, field):
    response = api.get("/kb/answer", query_string=query)
    assert response.status_code == 422
    assert field in error_of(response)["fields"]


# --- POST /conversations/{id}/handoff ---------------------------------------------------

def test_a_handoff_moves_the_chat_to_the_named_queue_once(api, make):
    site, billing = make.site(queue_id=make.queue().id), make.queue()
    chat_id = bot_chat(make, site)
    response = api.post(f"/conversations/{chat_id}/handoff",
                        json={"reason": "asked_for_human", "queue": billing.name})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["owner"], body["queue"]) == ("queue", {"id": billing.id, "name": billing.name})
    with make.app.app_context():
        packet = db.session.get(Conversation, chat_id).handoff
    assert (packet["reason"], packet["agents_available"]) == ("asked_for_human", False)
    [told] = messages(api, chat_id)
    assert told["author_kind"] == "bot" and "Nobody from our team" in told["body"]

    again = api.post(f"/conversations/{chat_id}/handoff", json={"reason": "asked_for_human"})
    assert (again.status_code, again.get_json()) == (200, body)
    assert len(messages(api, chat_id)) == 1


def test_without_a_queue_the_chat_goes_to_its_sites_queue(api, make):
    queue = make.queue()
    chat_id = bot_chat(make, make.site(queue_id=queue.id))
    body = api.post(f"/conversations/{chat_id}/handoff",
                    json={"reason": "low_confidence", "queue": None}).get_json()
    assert (body["owner"], body["queue"]["id"]) == ("queue", queue.id)


def test_a_conversation_people_own_is_returned_unchanged(api, make):
    conv = make.conversation()
    response = api.post(f"/conversations/{conv.id}/handoff", json={"reason": "asked_for_human"})
    assert (response.status_code, response.get_json()["owner"]) == (200, "queue")
    assert len(messages(api, conv.id)) == 1


def test_an_unknown_queue_is_refused_by_name(api, make):
    chat_id = bot_chat(make, make.site())
    response = api.post(f"/conversations/{chat_id}/handoff",
                        json={"reason": "asked_for_human", "queue": "Nowhere"})
    assert response.status_code == 422
    assert error_of(response) == {"code": "validation_failed",
                                  "message": "no queue is named 'Nowhere'",
                                  "fields": {"queue": ["no queue is named 'Nowhere'"]}}
    assert api.get(f"/conversations/{chat_id}").get_json()["owner"] == "bot"


@pytest.mark.parametrize("body", [{}, {"reason": "Asked for a human!"},
                                  {"reason": "asked_for_human", "queue": ""},
                                  {"reason": "asked_for_human", "team": "Billing"}])
def test_a_bad_handoff_request_is_refused(api, make, body):
    conv = make.conversation()
    assert api.post(f"/conversations/{conv.id}/handoff", json=body).status_code == 422


def test_a_handoff_of_an_unknown_conversation_is_404(api):
    response = api.post("/conversations/987654/handoff", json={"reason": "asked_for_human"})
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")


# --- POST /conversations/{id}/follow-ups ------------------------------------------------

def test_a_follow_up_opens_an_email_conversation_linked_to_the_chat(api, make):
    queue = make.queue()
    chat_id = bot_chat(make, make.site(queue_id=queue.id))
    request = {"email": "Zoe.Follow@Example.com",
               "description": "The Luna lamp flickers\nsince I changed the bulb."}
    response = api.post(f"/conversations/{chat_id}/follow-ups", json=request)
    assert response.status_code == 201, response.get_json()
    opened = response.get_json()
    assert opened["reference"] == f"#{opened['id']}"

    conversation = api.get(f"/conversations/{opened['id']}").get_json()
    assert (conversation["channel"], conversation["subject"]) == ("email",
                                                                  "The Luna lamp flickers")
    assert conversation["queue"]["id"] == queue.id
    assert conversation["customer"]["identities"] == [{"kind": "email",
                                                       "value": "zoe.follow@example.com"}]
    [first] = messages(api, opened["id"])
    assert (first["author_kind"], first["body"]) == ("customer", request["description"])
    [note] = messages(api, chat_id)
    assert note["internal"] and f"#{opened['id']}" in note["body"]

    retry = api.post(f"/conversations/{chat_id}/follow-ups", json=request)
    assert (retry.status_code, retry.get_json()) == (200, opened)
    assert len(messages(api, chat_id)) == 1


def test_a_follow_up_takes_the_subject_given(api, make):
    conv = make.conversation()
    opened = api.post(f"/conversations/{conv.id}/follow-ups", json={
        "email": "subject@example.com", "description": "It broke", "subject": "Broken lamp"})
    assert api.get(f"/conversations/{opened.get_json()['id']}").get_json()["subject"] == \
        "Broken lamp"


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "not-an-address", "description": "It broke"}, "email"),
    ({"description": "It broke"}, "email"),
    ({"email": "a@example.com", "description": "  "}, "description"),
    ({"email": "a@example.com"}, "description"),
    ({"email": "a@example.com", "description": "It broke", "priority": "high"}, "priority"),
])
def test_a_bad_follow_up_is_refused_naming_the_field(api, make, body, field):
    conv = make.conversation()
    response = api.post(f"/conversations/{conv.id}/follow-ups", json=body)
    assert response.status_code == 422
    assert field in error_of(response)["fields"]


def test_a_follow_up_of_an_unknown_conversation_is_404(api):
    response = api.post("/conversations/987654/follow-ups",
                        json={"email": "a@example.com", "description": "It broke"})
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")


# --- GET /orders/{number} ---------------------------------------------------------------

def test_the_demo_order_lookup_answers_with_the_order(api):
    response = api.get("/orders/A1001")
    assert response.status_code == 200
    order = response.get_json()
    assert (order["number"], order["status"], order["carrier"]) == ("A1001", "shipped",
                                                                     "Colissimo")
    assert order["tracking_url"].startswith("https://")
    assert order["expected_delivery"] == "2026-12-01"
    assert order["items"][0] == {"name": "Luna table lamp, opal glass", "quantity": 1}
    assert api.get("/orders/a1002").get_json()["status"] == "processing"


def test_an_unknown_order_is_404_naming_it(api):
    response = api.get("/orders/Z9999")
    assert response.status_code == 404
    assert error_of(response)["message"] == "no order Z9999"


@pytest.mark.parametrize("number", ["A1", "A1001!", "x" * 33, "A 1001"])
def test_a_malformed_order_number_is_refused(api, number):
    response = api.get(f"/orders/{number}")
    assert response.status_code == 422
    assert "number" in error_of(response)["fields"]


def test_an_order_system_failing_is_a_502_and_logged(api, module_app, monkeypatch, caplog):
    def broken(number: str) -> dict:
        raise ConnectionError("shop database down")

    monkeypatch.setitem(module_app.extensions, EXTENSION, broken)
    response = api.get("/orders/A1001")
    assert (response.status_code, error_of(response)["code"]) == (502, "order_lookup_failed")
    assert "A1001" in error_of(response)["message"]
    assert "shop database down" not in response.get_data(as_text=True)
    assert "the order lookup failed for order A1001" in caplog.text


# --- who may call them ------------------------------------------------------------------

def test_each_hook_needs_its_permission(module_app, make):
    conv = make.conversation()
    manager = client_with(module_app, make, Role.KNOWLEDGE_MANAGER,
                          ["knowledge:read", "knowledge:manage"])
    reader = client_with(module_app, make, Role.AGENT, ["conversations:read"])
    anonymous = ApiClient(module_app.test_client())
    refused = [
        manager.get("/orders/A1001"),
        manager.post(f"/conversations/{conv.id}/handoff", json={"reason": "asked_for_human"}),
        reader.post(f"/conversations/{conv.id}/follow-ups",
                    json={"email": "a@example.com", "description": "It broke"}),
        reader.get("/kb/answer", query_string={"q": "refund"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert anonymous.get("/orders/A1001").status_code == 401
    assert reader.get("/orders/A1001").status_code == 200
