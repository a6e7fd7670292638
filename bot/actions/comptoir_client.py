"""Comptoir's HTTP API as the custom actions use it: an interface and its HTTP client.

The action server runs in Rasa's own environment, so this module imports only the
standard library and ``requests``. Every failure (no answer, an error status, a reply of
the wrong shape) raises ``ComptoirUnavailable`` with a message naming the call and the
cause; the actions turn it into a clear message for the customer.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import requests

DEFAULT_URL = "http://127.0.0.1:5000"
# Comptoir waits rasa_timeout_seconds (10 s by default) for Rasa's whole reply, actions included.
TIMEOUT_SECONDS = 5.0
# The longest question /kb/answer takes; the start of a longer message carries the question.
MAX_QUESTION_CHARS = 2000

T = TypeVar("T")


class ComptoirUnavailable(Exception):
    """Comptoir did not answer, or not as expected; the message says which call and why."""


@dataclass(frozen=True)
class Citation:
    """The knowledge-base article an answer comes from, in the version shown."""

    article_id: int
    version: int
    title: str
    url: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class KbAnswer:
    """The built-in engine's decision: an answer with its citation, or the reason there is none."""

    answered: bool
    text: str | None
    confidence: float | None
    citation: Citation | None
    reason: str | None


@dataclass(frozen=True)
class FollowUp:
    """The conversation opened for the customer, and the reference to give them."""

    id: int
    reference: str


@dataclass(frozen=True)
class Order:
    """What the customer may know about their order."""

    number: str
    status: str
    status_text: str
    carrier: str | None
    tracking_url: str | None
    expected_delivery: str | None


class Comptoir(Protocol):
    """The calls the custom actions make to Comptoir."""

    def kb_answer(self, question: str, language: str) -> KbAnswer: ...

    def hand_off(self, conversation_id: str, reason: str, queue: str | None) -> None: ...

    def open_follow_up(self, conversation_id: str, email: str, description: str) -> FollowUp: ...

    def order(self, number: str) -> Order | None: ...


class ComptoirClient:
    """Comptoir's /api/v1 over HTTP, authenticated with an API token."""

    def __init__(self, base_url: str, token: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.api_url = base_url.rstrip("/") + "/api/v1"
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.timeout = timeout

    @classmethod
    def from_env(cls) -> ComptoirClient:
        """The client configured by COMPTOIR_URL and COMPTOIR_API_TOKEN."""
        return cls(os.environ.get("COMPTOIR_URL", DEFAULT_URL),
                   os.environ.get("COMPTOIR_API_TOKEN", ""))

    def kb_answer(self, question: str, language: str) -> KbAnswer:
        """The knowledge base's answer to the customer's question, or why there is none."""
        reply = self._call("GET", "/kb/answer",
                           params={"q": question[:MAX_QUESTION_CHARS], "lang": language})
        return _parsed("GET /kb/answer", _kb_answer, reply)

    def hand_off(self, conversation_id: str, reason: str, queue: str | None) -> None:
        """Hand the conversation to people (a no-op when people already have it)."""
        self._call("POST", f"/conversations/{_segment(conversation_id)}/handoff",
                   json={"reason": reason, "queue": queue})

    def open_follow_up(self, conversation_id: str, email: str, description: str) -> FollowUp:
        """Open an email conversation for the customer, linked to this chat."""
        path = f"/conversations/{_segment(conversation_id)}/follow-ups"
        reply = self._call("POST", path, json={"email": email, "description": description})
        return _parsed(f"POST {path}", lambda r: FollowUp(int(r["id"]), str(r["reference"])), reply)

    def order(self, number: str) -> Order | None:
        """The order with this number, or None when Comptoir knows no such order."""
        path = f"/orders/{_segment(number)}"
        reply = self._call("GET", path, missing_ok=True)
        return None if reply is None else _parsed(f"GET {path}", _order, reply)

    def _call(self, method: str, path: str, *, missing_ok: bool = False,
              **options: Any) -> Any:
        """The decoded JSON reply; None for a 404 when ``missing_ok``."""
        where = f"{method} {self.api_url}{path}"
        try:
            reply = requests.request(method, self.api_url + path, headers=self.headers,
                                     timeout=self.timeout, **options)
        except requests.RequestException as exc:
            raise ComptoirUnavailable(f"{where}: no answer ({exc})") from exc
        if missing_ok and reply.status_code == 404:
            return None
        if not reply.ok:
            raise ComptoirUnavailable(f"{where} answered {reply.status_code}: {_error(reply)}")
        try:
            return reply.json()
        except ValueError as exc:
            raise ComptoirUnavailable(f"{where} answered something that is not JSON") from exc


def _segment(value: str) -> str:
    """``value`` as one path segment: a slash or a question mark cannot reach another route."""
    return quote(str(value), safe="")


def _error(reply: requests.Response) -> str:
    try:
        message = str(reply.json().get("message", ""))
    except (ValueError, AttributeError):
        message = reply.text[:200]
    if reply.status_code in (401, 403):
        message += " (check COMPTOIR_API_TOKEN and its permissions)"
    return message


def _parsed(call: str, parse: Callable[[Any], T], reply: Any) -> T:
    try:
        return parse(reply)
    except (KeyError, TypeError, ValueError) as exc:
        raise ComptoirUnavailable(f"{call}: unexpected reply ({exc!r}): {reply!r:.200}") from exc


def _kb_answer(reply: dict[str, Any]) -> KbAnswer:
    answer = KbAnswer(answered=bool(reply["answered"]), text=reply.get("text"),
                      confidence=reply.get("confidence"),
                      citation=_citation(reply["citation"]) if reply.get("citation") else None,
                      reason=reply.get("reason"))
    if answer.answered and not (answer.text and answer.citation):
        raise ValueError("an answer needs its text and its citation")
    return answer


def _citation(reply: dict[str, Any]) -> Citation:
    return Citation(article_id=int(reply["article_id"]), version=int(reply["version"]),
                    title=str(reply["title"]), url=str(reply["url"]))


def _order(reply: dict[str, Any]) -> Order:
    return Order(number=str(reply["number"]), status=str(reply["status"]),
                 status_text=str(reply["status_text"]), carrier=reply.get("carrier"),
                 tracking_url=reply.get("tracking_url"),
                 expected_delivery=reply.get("expected_delivery"))
