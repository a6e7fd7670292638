"""The live chat end to end in real Chromium: the widget on /demo, the assistant, an agent.

A customer asks a question and gets an answer citing the article; asks for a person; an
agent (a second browser context) accepts and replies while the assistant stays silent;
the customer's network drops and comes back and nothing is lost or doubled.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from helpdesk.events import SYSTEM
from helpdesk.extensions import db, socketio, unit_of_work
from helpdesk.models import Conversation, Presence
from helpdesk.realtime.rooms import conversation_room
from helpdesk.services import staff
from knowledge_base import articles
from knowledge_base.models import ArticleContent
from knowledge_base.search import search_service
from tests.e2e.browser.test_agent_ui import log_in

pytestmark = pytest.mark.browser
BRAND = "Maison Lumière"
BULBS = ArticleContent(title="Which bulb for my lamp", language="en",
                       body="## Bulbs\nThe Orbe lamp takes an E27 dimmable LED bulb.",
                       example_questions=["which bulb fits the orbe lamp",
                                          "what bulb does the orbe take"])


@pytest.fixture
def shop(live_server):
    """The demo brand's site and help article, and an agent online in its chat queue."""
    make, app = live_server.make, live_server.app
    agent = make.user(email="camille@staff.example")
    queue = make.queue("Chat EN", member_ids=[agent.id])
    make.site(name=BRAND, queue_id=queue.id, language="en")
    with app.app_context():
        with unit_of_work() as uow:
            staff.set_presence(uow, SYSTEM, agent.id, Presence.ONLINE)
        with unit_of_work() as uow:
            article_id = articles.create_article(uow, SYSTEM, BULBS).id
        with unit_of_work() as uow:
            articles.publish(uow, SYSTEM, article_id)
        search_service(app).settle()
    return {"agent": agent, "article_id": article_id}


def messages(page: Page, kind: str):
    return page.get_by_test_id("chat-message").and_(page.locator(f"[data-author-kind={kind}]"))


def say(page: Page, text: str) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-send").click()


def seqs(page: Page) -> list[int]:
    return [int(s) for s in page.get_by_test_id("chat-message").evaluate_all(
        "nodes => nodes.map(n => n.dataset.seq).filter(Boolean)")]


def test_a_customer_gets_an_answer_then_a_person_and_loses_nothing(live_server, browser,
                                                                    shop):
    customer = browser.new_context().new_page()
    customer.goto(f"{live_server.url}/demo?lang=en")
    customer.get_by_test_id("chat-launcher").click()
    say(customer, "which bulb fits the orbe lamp")
    answer = messages(customer, "bot").first
    expect(answer).to_contain_text("E27")
    citation = answer.get_by_test_id("chat-citation")
    expect(citation).to_have_attribute(
        "href", re.compile(rf"/help/en/articles/{shop['article_id']}-which-bulb-for-my-lamp"))

    customer.get_by_test_id("chat-human").click()
    expect(messages(customer, "bot")).to_have_count(2)  # "I'm passing you to our team"

    agent = browser.new_context().new_page()
    log_in(agent, live_server.url, shop["agent"].email)
    agent.get_by_role("navigation", name="Inbox views").get_by_role(
        "link", name=re.compile("Chat EN")).click()
    agent.get_by_role("button", name="Accept chat").click()
    expect(agent.get_by_role("heading", name="Handoff")).to_be_visible()
    agent.get_by_label(re.compile("Reply to")).fill("Hello, Camille here. Which model?")
    agent.get_by_role("button", name="Send reply").click()
    expect(messages(customer, "agent")).to_contain_text("Camille here")

    say(customer, "The Orbe, bought last month")  # the assistant must not answer this
    expect(agent.locator("#thread")).to_contain_text("The Orbe, bought last month")

    # The network drops: the server loses the socket, the browser is offline.
    sid = _customer_sid(live_server)
    customer.context.set_offline(True)
    socketio.server.disconnect(sid, namespace="/chat")
    say(customer, "Are you still there?")  # kept in the outbox while offline
    agent.get_by_label(re.compile("Reply to")).fill("Yes, checking the stock now.")
    agent.get_by_role("button", name="Send reply").click()
    expect(agent.get_by_text("Reply sent.")).to_be_visible()
    customer.context.set_offline(False)

    expect(messages(customer, "agent").last).to_contain_text("checking the stock")
    expect(agent.locator("#thread")).to_contain_text("Are you still there?")
    expect(customer.get_by_test_id("chat-message").and_(
        customer.locator("[data-pending]"))).to_have_count(0)
    found = seqs(customer)
    assert found == sorted(set(found)) == list(range(1, len(found) + 1))  # no gap, no double
    assert messages(customer, "bot").count() == 2  # silent since the handoff


def _customer_sid(live_server) -> str:
    """The customer's socket: the only one in their conversation's room on /chat."""
    with live_server.app.app_context():
        conversation_id = db.session.scalar(select(Conversation.id))
    sids = list(socketio.server.manager.get_participants("/chat",
                                                         conversation_room(conversation_id)))
    assert len(sids) == 1, sids
    return sids[0][0]
