"""The wallboard in a real browser: a wall screen's worth of queues fits without scrolling,
and a contact arriving in a queue shows up live, its wait ticking."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from helpdesk.events import Actor
from helpdesk.extensions import unit_of_work
from helpdesk.models import Channel, Role
from helpdesk.services import conversations
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOT = Path(tempfile.gettempdir()) / "comptoir-wallboard.png"  # to eyeball the UI
WALL_SCREEN = {"width": 1920, "height": 1080}
QUEUES = ["Billing", "Chat FR", "Deliveries", "Phone", "Returns", "VIP"]


def open_wallboard(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login?next=/wallboard")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Wallboard")).to_be_visible()


def test_a_new_contact_shows_up_on_the_wallboard_without_a_reload(live_server, browser):
    make = live_server.make
    supervisor = make.user(Role.SUPERVISOR, email="dominique@staff.example")
    queues = {name: make.queue(name, member_ids=[supervisor.id]) for name in QUEUES}
    make.conversation(queue_id=queues["Returns"].id)
    page = browser.new_page(viewport=WALL_SCREEN)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_wallboard(page, live_server.url, supervisor.email)
    expect(page.locator("html[data-live=on]")).to_have_count(1)  # in the wallboard's room

    billing = page.get_by_role("region", name="Billing")
    waiting = billing.locator("[data-field=waiting_total]")
    expect(waiting).to_have_text("0")
    page.evaluate("window.sameDocument = true")
    customer = make.customer()
    with live_server.app.app_context(), unit_of_work() as uow:
        conversations.open_conversation(
            uow, Actor("customer", customer.id), customer_id=customer.id,
            channel=Channel.CHAT, queue_id=queues["Billing"].id, subject="Refund?")

    expect(waiting).to_have_text("1")
    expect(billing.locator("[data-field='waiting.chat']")).to_have_text("1")
    expect(billing).to_have_class(re.compile(r"\bwb-waiting\b"))
    expect(billing.locator("[data-since]")).to_have_text(re.compile(r"^0:0[2-9]$"))  # ticking
    assert page.evaluate("window.sameDocument") is True  # no reload happened
    expect(page.get_by_role("region", name="Returns").locator(
        "[data-field=waiting_total]")).to_have_text("1")

    assert page.evaluate("document.documentElement.scrollHeight") <= WALL_SCREEN["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= WALL_SCREEN["width"]
    page.screenshot(path=str(SCREENSHOT))
    assert errors == []


def test_a_new_queue_gets_its_tile_live(live_server, browser):
    make = live_server.make
    admin = make.user(Role.ADMIN, email="root@staff.example")
    make.queue("Billing")
    page = browser.new_page(viewport=WALL_SCREEN)
    open_wallboard(page, live_server.url, admin.email)
    expect(page.locator("html[data-live=on]")).to_have_count(1)

    make.queue("Aftersales")

    expect(page.get_by_role("region")).to_have_count(2)
    expect(page.get_by_role("region").first).to_have_accessible_name("Aftersales")
