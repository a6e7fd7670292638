"""The reports in a real browser: a supervisor sees every chart drawn (Chart.js, served by
Comptoir itself), and a number's link opens the conversations behind it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from helpdesk.models import Channel, Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOT = Path(tempfile.gettempdir()) / "comptoir-reports.png"  # to eyeball the UI
# Pixels of a canvas that are not transparent: Chart.js drew on it.
DRAWN_PIXELS = """canvas => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn++;
  return drawn;
}"""


def log_in(page: Page, base: str, email: str, path: str) -> None:
    page.goto(f"{base}/login?next={path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()


def test_a_supervisor_sees_the_charts_drawn_and_drills_down(live_server, browser):
    make = live_server.make
    supervisor = make.user(Role.SUPERVISOR, email="dominique@staff.example")
    queue = make.queue("Returns")
    for channel in (Channel.CHAT, Channel.EMAIL, Channel.EMAIL):
        make.conversation(queue_id=queue.id, channel=channel)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, supervisor.email, "/reports")

    canvases = page.locator("canvas[data-chart]")
    expect(canvases).to_have_count(3)
    for n in range(3):
        canvas = canvases.nth(n)
        assert page.evaluate("c => Chart.getChart(c) !== undefined", canvas.element_handle())
        assert canvas.evaluate(DRAWN_PIXELS) > 500, f"chart {n} is blank"
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.get_by_role("link", name="Backlog").click()
    expect(page.locator("canvas[data-chart]")).to_have_count(1)
    assert page.locator("canvas[data-chart]").evaluate(DRAWN_PIXELS) > 500

    page.get_by_role("link", name="Volumes").click()
    page.get_by_role("region", name="Per channel").get_by_role("link", name="2").click()
    expect(page.get_by_role("heading", name="Channel · Email")).to_be_visible()
    expect(page.locator("table.report-drill tbody tr")).to_have_count(2)
    assert errors == []
