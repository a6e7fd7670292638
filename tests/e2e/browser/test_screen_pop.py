"""Screen pop in a real browser: the simulator rings an agent's phone, their console shows
the caller's profile and history at once, with links to the customer and the conversation."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from helpdesk.call_simulator import Sender, ring
from helpdesk.events import SYSTEM
from helpdesk.extensions import unit_of_work
from helpdesk.models import IdentityKind, Role
from helpdesk.services import customers
from tests.e2e.browser.test_agent_ui import log_in

pytestmark = pytest.mark.browser
SCREENSHOT = Path(tempfile.gettempdir()) / "comptoir-screen-pop.png"  # to eyeball the UI


def console_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(f"{m.text} {m.location['url']}")
            if m.type == "error" and not m.location["url"].endswith("/favicon.ico") else None)
    return errors


def test_the_simulator_rings_an_agent_and_their_console_pops_the_caller_up(live_server,
                                                                           browser):
    make = live_server.make
    agent = make.user(email="camille@staff.example")
    colleague = make.user(email="dominique@staff.example")
    ada = make.customer("Ada <i>Lovelace</i>", email="ada@example.com")
    with live_server.app.app_context(), unit_of_work() as uow:
        customers.add_identity(uow, SYSTEM, ada.id, IdentityKind.PHONE, "+33612345678")
    make.conversation(ada, subject="My lamp flickers")
    pbx = Sender(live_server.url, make.token(make.user(Role.ADMIN), ["calls:ingest"]))

    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    errors = console_errors(page)
    log_in(page, live_server.url, agent.email)
    expect(page.locator("#call-pops[data-connected=on]")).to_have_count(1)

    ring(pbx, agent=colleague.email, caller="+33 7 00 00 00 00")  # someone else's phone
    answer = ring(pbx, agent=agent.email, caller="+33 6 12 34 56 78")
    pop = page.get_by_role("region", name="Incoming call: Ada <i>Lovelace</i>")
    expect(pop).to_be_visible()
    expect(page.locator(".call-pop")).to_have_count(1)
    expect(pop).to_contain_text("+33612345678")
    expect(pop).to_contain_text("ada@example.com")
    expect(pop.get_by_role("list", name="Customer timeline, newest first")).to_contain_text(
        "My lamp flickers")
    expect(pop.get_by_role("link", name="Customer profile")).to_have_attribute(
        "href", f"/customers/{ada.id}")
    page.screenshot(path=SCREENSHOT)

    conversation_id = answer["conversation_id"]
    pop.get_by_role("link", name=f"Open conversation #{conversation_id}").click()
    expect(page).to_have_url(re.compile(rf"/conversations/{conversation_id}$"))
    expect(page.get_by_role("heading", name="Phone calls")).to_be_visible()

    # On the conversation page too (its live script holds a socket of its own): a caller
    # nobody knows gets a new profile, shown by their number.
    expect(page.locator("#call-pops[data-connected=on]")).to_have_count(1)
    ring(pbx, agent=agent.id, caller="+44 20 7946 0000")
    unknown = page.get_by_role("region", name="Incoming call: +442079460000")
    expect(unknown).to_be_visible()
    unknown.get_by_role("button", name="Dismiss").click()
    expect(unknown).to_have_count(0)
    assert errors == []
