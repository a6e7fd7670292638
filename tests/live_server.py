"""A real Comptoir server on a free loopback port (browser tests, and the Rasa end-to-end
tests whose action server calls Comptoir's API over HTTP)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from helpdesk import create_app, migrate
from helpdesk.extensions import db
from tests.factories import Factory
from tests.fakes import FakeEmbedder


@dataclass(frozen=True)
class LiveServer:
    app: Flask
    url: str
    make: Factory


@contextmanager
def live_comptoir(folder: Path, **settings: Any) -> Iterator[LiveServer]:
    """The app on SQLite in ``folder`` (``settings`` override the test defaults), served
    by werkzeug in a background thread until the block ends."""
    app = create_app({"database_url": f"sqlite:///{folder / 'live.db'}",
                      "instance_path": str(folder / "instance"),
                      "secret_key": "live-test", "testing": True, **settings},
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
