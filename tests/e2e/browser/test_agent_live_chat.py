"""Live chat in a real browser: a handoff reaches the inbox, the agent accepts it and talks
with a customer (a second page speaking the ``/chat`` protocol with the vendored client)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot import responder
from bot.handoff import hand_off
from helpdesk.extensions import unit_of_work
from tests.e2e.browser.test_agent_ui import log_in
from tests.fakes import ScriptedEngine

pytestmark = pytest.mark.browser
SCREENSHOT = Path(tempfile.gettempdir()) / "comptoir-live-chat.png"  # to eyeball the UI

CUSTOMER_JS = """async (site) => {
  window.received = [];
  window.sock = io("/chat", {auth: {site: site}});
  await new Promise((resolve) => window.sock.on("session", resolve));
  for (const name of ["typing", "read", "message"]) {
    window.sock.on(name, (event) => window.received.push([name, event]));
  }
  const reply = await window.sock.emitWithAck("conversation.start", {name: "Zoé <b>"});
  return reply.conversation.id;
}"""


def customer_page(browser, base: str, site_key: str) -> tuple[Page, int]:
    page = browser.new_page()
    page.goto(f"{base}/login")
    page.add_script_tag(url="/widget/vendor/socket.io.min.js")
    return page, page.evaluate(CUSTOMER_JS, site_key)


def customer_events(page: Page, name: str) -> list[dict]:
    return [event for kind, event in page.evaluate("window.received") if kind == name]


def test_a_handed_off_chat_is_signalled_accepted_and_answered_live(live_server, browser):
    responder.init_app(live_server.app, ScriptedEngine)  # the assistant stays silent here
    make = live_server.make
    agent = make.user(email="camille@staff.example")
    queue = make.queue("Chat FR", member_ids=[agent.id])
    site = make.site(queue_id=queue.id, bot_enabled=True)
    customer, conversation_id = customer_page(browser, live_server.url, site.key)
    customer.evaluate("""(id) => window.sock.emitWithAck("message.send",
        {conversation_id: id, client_id: "c-1", body: "My lamp <i>flickers</i>"})""",
                      conversation_id)

    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(f"{m.text} {m.location['url']}")
            if m.type == "error" and not m.location["url"].endswith("/favicon.ico") else None)
    log_in(page, live_server.url, agent.email)
    queue_link = page.get_by_role("navigation", name="Inbox views").get_by_role(
        "link", name=re.compile("Chat FR"))
    queue_link.click()
    expect(page.get_by_role("button", name="Take over")).to_be_visible()
    expect(page.locator("html[data-live=on]")).to_have_count(1)  # its queue rooms are joined
    page.mouse.click(5, 300)  # a first interaction: the page may now play its chime

    with live_server.app.app_context(), unit_of_work() as uow:
        hand_off(uow, conversation_id, "asked_for_human")

    expect(page).to_have_title(re.compile(r"^\(1\) Chat FR · Comptoir$"))
    expect(queue_link.locator(".new-count")).to_have_text("1")
    page.get_by_role("button", name="Accept chat").click()  # the list refreshed by itself

    expect(page.get_by_role("heading", name="Handoff")).to_be_visible()
    expect(page.locator(".handoff-reason")).to_have_text("The customer asked to talk to a person")
    expect(page.locator(".handoff-summary")).to_have_text("My lamp <i>flickers</i>")
    # Once subscribed and caught up, the open page tells the customer it read everything.
    _wait_for(customer, "read", lambda e: e["reader"] == "agent" and e["seq"] == 2)

    customer.evaluate("""(id) => window.sock.emit("typing", {conversation_id: id, typing: true})""",
                      conversation_id)
    expect(page.locator("#typing")).to_have_text("Zoé <b> is typing…")
    customer.evaluate("""(id) => window.sock.emitWithAck("message.send",
        {conversation_id: id, client_id: "c-2", body: "Still there?"})""", conversation_id)
    last = page.locator("#thread > li").last
    expect(last).to_contain_text("Still there?")
    expect(page.locator("#typing")).to_have_text("")
    seq = int(last.get_attribute("data-seq"))
    _wait_for(customer, "read", lambda e: e["reader"] == "agent" and e["seq"] == seq)

    page.get_by_label(re.compile("Reply to")).press_sequentially("On my way")
    _wait_for(customer, "typing", lambda e: e["typing"] and e["author"] == {
        "kind": "agent", "name": "camille"})
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    reply = page.locator("#thread > li.from-agent").last
    reply_seq = int(reply.get_attribute("data-seq"))
    expect(reply.locator(".seen")).to_have_count(0)

    customer.evaluate("""([id, seq]) => window.sock.emitWithAck("message.read",
        {conversation_id: id, seq: seq})""", [conversation_id, reply_seq])
    expect(reply.locator(".seen")).to_have_text("Seen")
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert errors == []


def _wait_for(page: Page, name: str, matches) -> None:
    """Until the customer's page has received a ``name`` event that ``matches``."""
    for _ in range(100):
        if any(matches(event) for event in customer_events(page, name)):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"no matching {name!r} event: {customer_events(page, name)}")
