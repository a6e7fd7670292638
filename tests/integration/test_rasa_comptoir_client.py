"""bot/actions/comptoir_client.py against a stand-in for Comptoir's API on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.actions.comptoir_client import (
    MAX_QUESTION_CHARS,
    Citation,
    ComptoirClient,
    ComptoirUnavailable,
    FollowUp,
    KbAnswer,
    Order,
)

TOKEN = "tok-rasa-actions"
CITATION = {"article_id": 3, "version": 2, "title": "Your account and password",
            "url": "https://help.example/account"}
ORDER = {"number": "A1001", "status": "shipped", "status_text": "Shipped on 24 November.",
         "carrier": "Colissimo", "tracking_url": "https://track.example/A1001",
         "expected_delivery": "2026-12-01", "items": [{"name": "Opaline lamp", "quantity": 1}]}


class StandIn(ThreadingHTTPServer):
    """Replies to each "METHOD /path" with the (status, body, delay) scripted in ``replies``
    (404 otherwise) and records what it received."""

    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies: dict[str, tuple[int, Any, float]] = {}
        self.received: list[dict[str, Any]] = []

    def reply(self, route: str, status: int, body: Any, delay: float = 0.0) -> None:
        self.replies[route] = (status, body, delay)


class _Handler(BaseHTTPRequestHandler):
    server: StandIn

    def do_GET(self) -> None:
        self._answer(None)

    def do_POST(self) -> None:
        self._answer(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

    def _answer(self, body: Any) -> None:
        url = urlsplit(self.path)
        self.server.received.append({"route": f"{self.command} {url.path}",
                                     "query": parse_qs(url.query), "json": body,
                                     "authorization": self.headers["Authorization"]})
        status, reply, delay = self.server.replies.get(f"{self.command} {url.path}",
                                                       (404, {"message": "no route"}, 0.0))
        time.sleep(delay)
        data = reply.encode() if isinstance(reply, str) else json.dumps(reply).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except BrokenPipeError:
            pass  # the client timed out and left: what the timeout test wants

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read ``received``."""


@pytest.fixture
def comptoir() -> Iterator[StandIn]:
    server = StandIn()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def client(server: StandIn, timeout: float = 2.0) -> ComptoirClient:
    return ComptoirClient(f"http://127.0.0.1:{server.server_port}/", TOKEN, timeout=timeout)


def test_a_knowledge_base_answer_comes_with_its_citation(comptoir):
    comptoir.reply("GET /api/v1/kb/answer", 200, {
        "answered": True, "text": "Choose 'Forgot password'.", "confidence": 0.83,
        "citation": CITATION, "reason": None})

    answer = client(comptoir).kb_answer("How do I reset my password?", "en")

    assert answer == KbAnswer(answered=True, text="Choose 'Forgot password'.", confidence=0.83,
                              citation=Citation(**CITATION), reason=None)
    assert comptoir.received == [{
        "route": "GET /api/v1/kb/answer", "json": None, "authorization": f"Bearer {TOKEN}",
        "query": {"q": ["How do I reset my password?"], "lang": ["en"]}}]


def test_no_answer_comes_with_its_reason(comptoir):
    comptoir.reply("GET /api/v1/kb/answer", 200, {
        "answered": False, "text": None, "confidence": 0.2, "citation": None,
        "reason": "low_confidence"})

    answer = client(comptoir).kb_answer("blorp", "fr")

    assert answer == KbAnswer(answered=False, text=None, confidence=0.2, citation=None,
                              reason="low_confidence")


def test_a_long_message_is_asked_by_its_start(comptoir):
    comptoir.reply("GET /api/v1/kb/answer", 200, {
        "answered": False, "text": None, "confidence": None, "citation": None,
        "reason": "no_articles"})

    client(comptoir).kb_answer("Why " + "x" * 5000, "en")

    assert comptoir.received[0]["query"]["q"] == ["Why " + "x" * (MAX_QUESTION_CHARS - 4)]


def test_a_handoff_names_its_reason_and_queue(comptoir):
    comptoir.reply("POST /api/v1/conversations/42/handoff", 200, {"id": 42})

    client(comptoir).hand_off("42", "asked_for_human", "Billing")

    assert comptoir.received[0]["json"] == {"reason": "asked_for_human", "queue": "Billing"}


def test_a_follow_up_gives_the_new_conversation_and_its_reference(comptoir):
    comptoir.reply("POST /api/v1/conversations/42/follow-ups", 201, {"id": 90, "reference": "#90"})

    follow_up = client(comptoir).open_follow_up("42", "claire@example.com", "Broken shade.")

    assert follow_up == FollowUp(id=90, reference="#90")
    assert comptoir.received[0]["json"] == {"email": "claire@example.com",
                                            "description": "Broken shade."}


def test_an_order_is_read_and_an_unknown_one_is_none(comptoir):
    comptoir.reply("GET /api/v1/orders/A1001", 200, ORDER)

    assert client(comptoir).order("A1001") == Order(
        number="A1001", status="shipped", status_text="Shipped on 24 November.",
        carrier="Colissimo", tracking_url="https://track.example/A1001",
        expected_delivery="2026-12-01")
    assert client(comptoir).order("Z9999") is None


def test_a_value_stays_in_its_path_segment(comptoir):
    assert client(comptoir).order("A1/../x?y") is None

    assert comptoir.received[0]["route"] == "GET /api/v1/orders/A1%2F..%2Fx%3Fy"


@pytest.mark.parametrize(("status", "body", "expected"), [
    (500, {"message": "database unavailable"}, "answered 500: database unavailable"),
    (401, {"message": "missing or invalid token"}, "check COMPTOIR_API_TOKEN"),
    (422, {"message": "no queue named 'Nope'"}, "answered 422: no queue named 'Nope'"),
    (200, "<html>proxy error</html>", "not JSON"),
    (200, {"id": 42}, "unexpected reply"),
])
def test_an_error_or_unexpected_reply_names_the_call_and_the_cause(comptoir, status, body,
                                                                   expected):
    comptoir.reply("POST /api/v1/conversations/42/follow-ups", status, body)

    with pytest.raises(ComptoirUnavailable, match=r"POST .*/conversations/42/follow-ups") as error:
        client(comptoir).open_follow_up("42", "claire@example.com", "Broken shade.")

    assert expected in str(error.value)


def test_an_answer_without_its_citation_is_unexpected(comptoir):
    comptoir.reply("GET /api/v1/kb/answer", 200, {
        "answered": True, "text": "Yes.", "confidence": 0.9, "citation": None, "reason": None})

    with pytest.raises(ComptoirUnavailable, match="unexpected reply"):
        client(comptoir).kb_answer("Can I return a lamp?", "en")


def test_a_slow_comptoir_times_out(comptoir):
    comptoir.reply("GET /api/v1/orders/A1001", 200, ORDER, delay=1.0)

    with pytest.raises(ComptoirUnavailable, match="no answer"):
        client(comptoir, timeout=0.2).order("A1001")


def test_a_comptoir_that_is_down_gives_no_answer():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(ComptoirUnavailable, match=f"127.0.0.1:{port}.*no answer"):
        ComptoirClient(f"http://127.0.0.1:{port}", TOKEN).kb_answer("hello", "en")


def test_the_client_is_configured_from_the_environment(monkeypatch):
    monkeypatch.setenv("COMPTOIR_URL", "http://comptoir.internal:8000/")
    monkeypatch.setenv("COMPTOIR_API_TOKEN", TOKEN)

    configured = ComptoirClient.from_env()

    assert configured.api_url == "http://comptoir.internal:8000/api/v1"
    assert configured.headers["Authorization"] == f"Bearer {TOKEN}"
