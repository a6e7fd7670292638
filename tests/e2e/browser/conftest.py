"""A real Comptoir server on a free loopback port, and headless Chromium to drive it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.live_server import LiveServer, live_comptoir

# A 2-core machine running the rest of the suite can take more than the default 5 s.
expect.set_options(timeout=20_000)

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; Playwright's own downloads are not used
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The app on SQLite, served by werkzeug in a background thread."""
    with live_comptoir(tmp_path) as server:
        yield server


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
