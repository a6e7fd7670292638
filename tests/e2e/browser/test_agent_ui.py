"""An agent's day in a real browser: log in, open a conversation, work it, read the history."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from helpdesk.events import Actor
from helpdesk.extensions import unit_of_work
from helpdesk.models import Role
from helpdesk.services import customers
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOT = Path(tempfile.gettempdir()) / "comptoir-conversation.png"  # to eyeball the UI


@pytest.fixture
def helpdesk(live_server):
    """An agent, a colleague, and a customer with a long enough history to page through."""
    make = live_server.make
    agent = make.user(email="camille@staff.example")
    colleague = make.user(Role.SUPERVISOR, email="dominique@staff.example")
    queue = make.queue("Deliveries", member_ids=[agent.id, colleague.id])
    customer = make.customer("Ada Lovelace", email="ada@example.com")
    make.custom_field(subject="customer", key="plan", label="Plan", type="text")
    with live_server.app.app_context(), unit_of_work() as uow:
        customers.update_customer(uow, Actor("agent", colleague.id), customer.id,
                                  language="en", timezone="Europe/London",
                                  consents={"marketing_email": False},
                                  attributes={"plan": "gold"})
    for n in range(3):
        make.conversation(customer, queue_id=queue.id, subject=f"Older question {n}",
                          body=f"Question number {n} about my account")
    conv = make.conversation(customer, queue_id=queue.id, subject="Where is my parcel?",
                             body="Ordered a week ago, still nothing. <b>Help</b>")
    return {"agent": agent, "colleague": colleague, "conversation": conv}


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Mine")).to_be_visible()


def test_an_agent_works_a_conversation_and_sees_it_in_the_timeline(live_server, browser,
                                                                    helpdesk):
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    log_in(page, live_server.url, helpdesk["agent"].email)

    page.get_by_role("navigation", name="Inbox views").get_by_role("link", name="All").click()
    expect(page.get_by_text("4 conversations")).to_be_visible()
    page.get_by_label("Search subjects").fill("parcel")  # htmx refreshes the list as you type
    expect(page.get_by_text("1 conversation", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/conversations\?view=all&.*q=parcel"))
    page.get_by_role("link", name="Where is my parcel?").click()
    thread = page.get_by_role("list", name="Messages")
    expect(thread).to_contain_text("Ordered a week ago, still nothing. <b>Help</b>")

    composer = page.get_by_label("Reply to Ada Lovelace or write an internal note")
    composer.fill("Sorry about that! A new parcel leaves today.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_have_text("Reply sent.")

    composer.fill("Carrier lost it; claim #4411 opened.")
    page.get_by_role("button", name="Add internal note").click()
    expect(page.get_by_role("status")).to_have_text("Internal note added.")
    expect(thread.locator(".message.internal")).to_contain_text("claim #4411")

    page.get_by_label("Assignee").select_option(label="dominique")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Assignment saved.")

    page.get_by_label("Status").select_option("pending")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("status")).to_have_text("Status saved.")

    timeline = page.get_by_role("list", name="Customer timeline, newest first")
    for line in ("camille wrote", "Sorry about that!", "camille added an internal note",
                 "camille assigned it to dominique",
                 "camille changed the status from Open to Pending"):
        expect(timeline).to_contain_text(line)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    timeline.get_by_role("link", name="Load more").click()  # htmx appends the older events
    expect(timeline).to_contain_text("created the customer profile")
    expect(page).to_have_url(f"{live_server.url}/conversations/{helpdesk['conversation'].id}")


def test_presence_and_language_switch_from_the_top_bar(live_server, browser, helpdesk):
    page = browser.new_page()
    log_in(page, live_server.url, helpdesk["agent"].email)
    page.get_by_label("Presence").select_option("away")  # saved on change, no button needed
    expect(page.get_by_role("status")).to_have_text("Presence saved.")
    page.get_by_label("Language").select_option("fr")
    expect(page.get_by_role("link", name="Boîte de réception")).to_be_visible()
    expect(page.get_by_role("heading", name="Les miennes")).to_be_visible()
