"""The Rasa engine: customer messages go to a Rasa server, its replies become actions.

``POST {rasa_url}/webhooks/rest/webhook`` with ``{"sender": conversation id, "message",
"metadata": {"language"}}`` answers a list of elements (``text``, ``buttons``, ``image``,
``custom``). Rasa's REST channel sends the text and the custom payload of one
``utter_message`` as two elements, and splits a text at blank lines: so a
``{"citation": ...}`` cites the plain texts just before it. ``{"handoff": {"reason",
"queue"}}`` hands over. When Rasa gives no usable answer (timeout, refused connection, HTTP
error, malformed reply) the fallback engine answers that message; every call is counted
in the Prometheus metrics (``GET /api/v1/metrics``).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import replace
from typing import Any, Protocol

import requests
from prometheus_client import Counter, Histogram

from bot.engine import BotContext, Engine
from bot.responses import Action, Answer, Button, Citation, Escalate, EscalationReason, Reply

log = logging.getLogger(__name__)
WEBHOOK = "/webhooks/rest/webhook"
OUTCOMES = ("ok", "timeout", "error")
REQUESTS = Counter("comptoir_rasa_requests", "Messages sent to Rasa, by outcome: ok, timeout "
                   "or error (unreachable, HTTP error, malformed reply)", ["outcome"])
FALLBACKS = Counter("comptoir_rasa_fallbacks",
                    "Messages the built-in engine answered because Rasa gave no usable answer")
SECONDS = Histogram("comptoir_rasa_request_seconds", "Time Rasa took to answer a message")
for _outcome in OUTCOMES:
    REQUESTS.labels(_outcome)  # every outcome is exported from the start, at 0
KINDS = {str: "text", int: "a whole number", list: "a list", dict: "an object"}
CITATION_FIELDS = {"article_id": int, "version": int, "title": str, "url": str}


class RasaError(Exception):
    """Rasa gave no usable answer; ``outcome`` is the metrics label."""

    outcome = "error"


class RasaTimeout(RasaError):
    outcome = "timeout"


class RasaClient(Protocol):
    def send(self, sender: str, message: str, metadata: dict[str, Any]) -> Any:
        """Rasa's answer (decoded JSON); raises ``RasaError`` when there is none."""
        ...


class HttpRasaClient:
    """Rasa's REST channel over HTTP; ``timeout`` bounds connecting and each wait for data."""

    def __init__(self, url: str, timeout: float) -> None:
        self.endpoint = url.rstrip("/") + WEBHOOK
        self.timeout = timeout

    def send(self, sender: str, message: str, metadata: dict[str, Any]) -> Any:
        """POST the message; Rasa's decoded answer, or ``RasaError`` saying what went wrong."""
        try:
            response = requests.post(self.endpoint, timeout=self.timeout, json={
                "sender": sender, "message": message, "metadata": metadata})
        except requests.Timeout as exc:
            raise RasaTimeout(f"no answer from {self.endpoint} within {self.timeout:g} s") \
                from exc
        except requests.RequestException as exc:
            raise RasaError(f"cannot reach {self.endpoint}: {exc}") from exc
        if response.status_code != 200:
            raise RasaError(f"{self.endpoint} answered HTTP {response.status_code}: "
                            f"{response.text[:200]!r}")
        try:
            return response.json()
        except ValueError as exc:
            raise RasaError(f"{self.endpoint} answered something else than JSON: "
                            f"{response.text[:200]!r}") from exc


class RasaEngine:
    """``Engine`` over a Rasa server; ``fallback`` answers the messages Rasa cannot.

    Unlike the built-in engine it may return no action: Rasa legitimately says nothing
    (a story that ends in a silent action, or after its handoff action already handed the
    conversation over through the API).
    """

    def __init__(self, client: RasaClient, fallback: Engine) -> None:
        self.client = client
        self.fallback = fallback

    def respond(self, context: BotContext, message: str) -> list[Action]:
        """Rasa's reply as actions, or the fallback engine's when Rasa gave none."""
        try:
            actions = self._ask(context, message)
        except RasaError as exc:
            REQUESTS.labels(exc.outcome).inc()
            FALLBACKS.inc()
            log.warning("Rasa failed on conversation %s, the built-in engine answers: %s",
                        context.conversation_id, exc)
            return self.fallback.respond(context, message)
        REQUESTS.labels("ok").inc()
        return actions

    def _ask(self, context: BotContext, message: str) -> list[Action]:
        metadata = {"language": context.language} if context.language else {}
        started = time.perf_counter()
        answer = self.client.send(_sender(context), context.payload or message, metadata)
        SECONDS.observe(time.perf_counter() - started)
        return reply_actions(answer)


def _sender(context: BotContext) -> str:
    """The conversation's id; a message outside a conversation (an evaluation) is a new
    sender each time, so no dialogue state carries over."""
    if context.conversation_id is None:
        return f"comptoir-{uuid.uuid4().hex}"
    return str(context.conversation_id)


def reply_actions(answer: Any) -> list[Action]:
    """Rasa's reply elements as actions, in order; ``RasaError`` names what is malformed."""
    elements = _typed(answer, list, "Rasa's answer")
    actions: list[Action] = []
    for index, element in enumerate(elements):
        where = f"Rasa's message {index}"
        _typed(element, dict, where)
        reply = _reply(element, where)
        if reply is not None:
            actions.append(reply)
        if element.get("custom") is not None:
            _add_custom(actions, _typed(element["custom"], dict, f"{where}: custom"), where)
    return actions


def _reply(element: dict[str, Any], where: str) -> Reply | None:
    """What the element shows: text, buttons, an image (None when it shows nothing)."""
    text = _typed(element.get("text") or "", str, f"{where}: text")
    image = element.get("image")
    if image is not None and not _is_web_url(image):
        raise RasaError(f"{where}: image: expected an http(s) URL, got {image!r}")
    buttons = tuple(_button(b, f"{where}: button {i}") for i, b in
                    enumerate(_typed(element.get("buttons") or [], list, f"{where}: buttons")))
    if not (text.strip() or image or buttons):
        return None
    return Reply(text=text, buttons=buttons, image=image)


def _button(value: Any, where: str) -> Button:
    _typed(value, dict, where)
    return Button(title=_typed(value.get("title"), str, f"{where}: title"),
                  payload=_typed(value.get("payload"), str, f"{where}: payload"))


def _add_custom(actions: list[Action], custom: dict[str, Any], where: str) -> None:
    """A handoff, a citation of the texts before, or a payload kept with its message."""
    if "handoff" in custom:
        actions.append(_escalate(_typed(custom["handoff"], dict, f"{where}: handoff"), where))
    elif "citation" in custom:
        _cite(actions, _citation(_typed(custom["citation"], dict, f"{where}: citation"),
                                 where), where)
    elif actions and isinstance(actions[-1], Reply) and actions[-1].custom is None:
        actions[-1] = replace(actions[-1], custom=custom)
    else:
        log.warning("%s: a custom payload with no message to go with, ignored: %r",
                    where, custom)


def _escalate(handoff: dict[str, Any], where: str) -> Escalate:
    queue = handoff.get("queue")
    if queue is not None:
        _typed(queue, str, f"{where}: handoff queue")
    return Escalate(reason=_reason(handoff.get("reason")), best_score=None, text="",
                    queue=queue or None)


def _reason(value: Any) -> EscalationReason:
    """Comptoir's own reason when Rasa gives one of them, else "the assistant handed over"."""
    try:
        return EscalationReason(value)
    except ValueError:
        return EscalationReason.ASSISTANT_HANDOFF


def _citation(value: dict[str, Any], where: str) -> Citation:
    for name, kind in CITATION_FIELDS.items():
        _typed(value.get(name), kind, f"{where}: citation {name}")
    return Citation(**{name: value[name] for name in CITATION_FIELDS})


def _cite(actions: list[Action], citation: Citation, where: str) -> None:
    """Turn the plain texts just before the citation (one text Rasa split at blank lines)
    into the cited answer."""
    texts: list[str] = []
    while actions and _is_plain_text(actions[-1]):
        texts.insert(0, actions.pop().text)
    if not texts:
        log.warning("%s: a citation with no text before it, ignored", where)
        return
    actions.append(Answer(text="\n\n".join(texts), citation=citation))


def _is_plain_text(action: Action) -> bool:
    return isinstance(action, Reply) and not (action.buttons or action.image or action.custom)


def _is_web_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _typed(value: Any, kind: type, what: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise RasaError(f"{what}: expected {KINDS[kind]}, got {value!r:.100}")
    return value
