"""HttpRasaClient against a small real HTTP server on loopback standing in for Rasa."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.rasa_engine import HttpRasaClient, RasaError, RasaTimeout

REPLY = [{"recipient_id": "42", "text": "Bonjour !"}]


@dataclass
class FakeRasaServer:
    """What the next request gets (``status``, ``body``; ``hold`` delays the answer until
    set), and the requests received as (path, content type, JSON body)."""

    url: str
    status: int = 200
    body: bytes = json.dumps(REPLY).encode()
    hold: threading.Event | None = None
    received: list[tuple[str, str, dict]] = field(default_factory=list)


@pytest.fixture
def rasa() -> Iterator[FakeRasaServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    state = FakeRasaServer(f"http://127.0.0.1:{server.server_port}")
    server.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    if state.hold:
        state.hold.set()
    server.shutdown()
    server.server_close()
    thread.join()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        state: FakeRasaServer = self.server.state  # type: ignore[attr-defined]
        length = int(self.headers["Content-Length"])
        state.received.append((self.path, self.headers["Content-Type"],
                               json.loads(self.rfile.read(length))))
        if state.hold:
            state.hold.wait(10)
        self.send_response(state.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(state.body)))
        self.end_headers()
        self.wfile.write(state.body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is not the place for access logs."""


def test_the_message_is_posted_to_the_rest_webhook(rasa):
    answer = HttpRasaClient(rasa.url + "/", timeout=5).send("42", "Bonjour", {"language": "fr"})
    assert answer == REPLY
    assert rasa.received == [("/webhooks/rest/webhook", "application/json", {
        "sender": "42", "message": "Bonjour", "metadata": {"language": "fr"}})]


def test_no_answer_in_time_is_a_timeout(rasa):
    rasa.hold = threading.Event()
    with pytest.raises(RasaTimeout, match=r"no answer from http://127\.0\.0\.1:\d+/webhooks/"
                                          r"rest/webhook within 0\.2 s"):
        HttpRasaClient(rasa.url, timeout=0.2).send("42", "Bonjour", {})


def test_an_http_error_is_an_error_quoting_the_answer(rasa):
    rasa.status, rasa.body = 500, b'{"message": "model not loaded"}'
    with pytest.raises(RasaError, match=r"answered HTTP 500: .*model not loaded") as caught:
        HttpRasaClient(rasa.url, timeout=5).send("42", "Bonjour", {})
    assert caught.value.outcome == "error"


def test_an_answer_that_is_not_json_is_an_error(rasa):
    rasa.body = b"<html>proxy error</html>"
    with pytest.raises(RasaError, match=r"something else than JSON: .*proxy error"):
        HttpRasaClient(rasa.url, timeout=5).send("42", "Bonjour", {})


def test_nobody_listening_is_an_error_not_a_timeout():
    with socket.socket() as probe:  # a port just freed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RasaError, match=f"cannot reach http://127.0.0.1:{port}/") as caught:
        HttpRasaClient(f"http://127.0.0.1:{port}", timeout=5).send("42", "Bonjour", {})
    assert caught.value.outcome == "error"
