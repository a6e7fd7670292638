"""Privacy in a real browser: a supervisor asks for an export, the requests page shows it
ready once the worker built it (without a reload), the archive downloads; then the typed
confirmation erases the customer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from helpdesk.models import Role
from helpdesk.orm import utcnow
from helpdesk.privacy import build_exports, exports
from tests.e2e.browser.test_agent_ui import log_in

pytestmark = pytest.mark.browser


def test_export_then_erase_a_customer(live_server, browser, monkeypatch):
    make = live_server.make
    supervisor = make.user(Role.SUPERVISOR, email="sam@staff.example", name="Sam Super")
    customer = make.customer("Léa <Privacy>", email="lea@example.com")
    make.conversation(customer, body="Mon adresse : 3 rue des Lilas")
    monkeypatch.setattr(exports, "INLINE_MAX_ROWS", 0)  # the worker builds it
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, supervisor.email)

    page.goto(f"{live_server.url}/customers/{customer.id}")
    page.get_by_role("button", name="Export their data").click()
    expect(page.get_by_role("status")).to_contain_text("the archive is being built")
    expect(page.locator("table.data-requests")).to_contain_text("Waiting")
    with live_server.app.app_context():
        build_exports(utcnow())
    download_link = page.get_by_role("link", name="Download the archive")
    expect(download_link).to_be_visible()  # the page polls while a request waits
    with page.expect_download() as download:
        download_link.click()
    assert re.fullmatch(rf"customer-{customer.id}-data-\d+\.zip",
                        download.value.suggested_filename)

    page.goto(f"{live_server.url}/customers/{customer.id}")
    page.get_by_label(re.compile("To erase everything about this customer")).fill(
        f"ERASE {customer.id}")
    page.get_by_role("button", name="Erase their data").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Everything about customer #{customer.id} was erased.")
    expect(page.locator("#customer-name")).not_to_contain_text("Léa")
    expect(page.locator("#timeline")).to_contain_text("Sam Super erased the customer's data")
    assert errors == []
