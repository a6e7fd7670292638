"""Agent tools in a real browser: a macro fills the reply box and is sent; a colleague's
@mention rings the bell live."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.test_agent_ui import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def helpdesk(live_server):
    make = live_server.make
    agent = make.user(email="camille@staff.example", name="Camille Roux")
    colleague = make.user(email="dominique@staff.example", name="Dominique Petit")
    conv = make.conversation(make.customer("Ada <Lovelace>", email="ada@example.com"),
                             subject="Where is my parcel?")
    make.macro(agent, name="Parcel on its way",
               body="Hello {{customer.name}}, your parcel left today. {{agent.name}}",
               actions={"add_tags": ["shipped"], "status": "pending"})
    return {"agent": agent, "colleague": colleague, "conversation": conv}


def test_a_macro_fills_the_reply_box_then_is_sent(live_server, browser, helpdesk):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, helpdesk["agent"].email)
    page.goto(f"{live_server.url}/conversations/{helpdesk['conversation'].id}")

    page.get_by_label("Macro", exact=True).select_option(label="Parcel on its way")
    page.get_by_role("button", name="Insert").click()
    composer = page.get_by_label("Reply to Ada <Lovelace> or write an internal note")
    expect(composer).to_have_value(
        "Hello Ada <Lovelace>, your parcel left today. Camille Roux")
    expect(page.get_by_role("list", name="Tags")).to_contain_text("shipped")

    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_have_text("Reply sent.")
    expect(page.locator("#thread .from-agent").last).to_contain_text(
        "Hello Ada <Lovelace>, your parcel left today.")
    assert errors == []


def test_a_mention_rings_the_colleague_s_bell_live(live_server, browser, helpdesk):
    colleague = browser.new_page()
    log_in(colleague, live_server.url, helpdesk["colleague"].email)
    bell = colleague.locator("#notification-count")
    expect(bell).to_be_hidden()
    expect(colleague.locator("html[data-live=on]")).to_have_count(1)  # the inbox's socket

    page = browser.new_page()
    log_in(page, live_server.url, helpdesk["agent"].email)
    page.goto(f"{live_server.url}/conversations/{helpdesk['conversation'].id}")
    page.get_by_label("Reply to Ada <Lovelace> or write an internal note").fill(
        "@dominique can you call the carrier?")
    page.get_by_role("button", name="Add internal note").click()
    expect(page.locator("#thread .internal .mention")).to_have_text("@dominique")

    expect(bell).to_have_text("1")
    expect(colleague.locator("#notification-announce")).to_have_text(
        "New notification: Camille Roux: @dominique can you call the carrier?")
    colleague.locator("#notification-bell").click()
    conversation_id = helpdesk["conversation"].id
    colleague.get_by_role("button", name=f"Open conversation #{conversation_id}").click()
    expect(colleague.get_by_role("heading", name="Where is my parcel?")).to_be_visible()
    expect(bell).to_be_hidden()
