"""A real Comptoir server on a free loopback port, and headless Chromium to drive it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect, sync_playwright
from werkzeug.serving import make_server

from helpdesk import create_app, migrate
from helpdesk.extensions import db
from tests.factories import Factory
from tests.fakes import FakeEmbedder

# A 2-core machine running the rest of the suite can take more than the default 5 s.
expect.set_options(timeout=20_000)

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; Playwright's own downloads are not used
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@dataclass(frozen=True)
class LiveServer:
    app: Flask
    url: str
    make: Factory


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The app on SQLite, served by werkzeug in a background thread."""
    app = create_app({"database_url": f"sqlite:///{tmp_path / 'browser.db'}",
                      "instance_path": str(tmp_path / "instance"),
                      "secret_key": "browser-test", "testing": True},
                     embedder_factory=FakeEmbedder)
    with app.app_context():
        migrate.upgrade(db.engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}", Factory(app))
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
