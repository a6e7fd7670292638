"""Offline replay through a running Rasa server: ``comptoir bot evaluate --engine rasa``.

Each question is a new conversation (a fresh sender id), sent one at a time to Rasa's
REST channel, and its reply read as the Rasa engine reads it (``bot/rasa_engine.py``). A
reply citing an article is an answer with that article: the ``faq`` payload of
``comptoir rasa export-faq``'s responses names it as the questions do (its external id,
else its id); a handoff payload is a handoff; anything else (small talk, silence) is
neither. The metrics are the built-in engine's, plus the handoff rate and the time Rasa
took per message.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.evaluate import EvaluationError, Question, metrics
from bot.rasa_engine import RasaClient, RasaError, reply_actions
from bot.responses import Action, Answer, Escalate, Reply

# Generous: a slow answer is measured, not dropped (it would end the evaluation).
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class RasaOutcome:
    """One replayed question: Rasa's decisive action, the article answered with (or
    None), and the seconds the round trip to Rasa took."""

    question: Question
    action: Action | None  # None: Rasa said nothing
    article: str | None
    seconds: float
    texts: list[str]  # what the customer would have read

    @property
    def answered(self) -> bool:
        return self.article is not None

    @property
    def handed_off(self) -> bool:
        return isinstance(self.action, Escalate)


def evaluate_rasa(client: RasaClient, questions: Sequence[Question]) -> list[RasaOutcome]:
    """Every question through Rasa, one at a time, each in a conversation of its own."""
    run = uuid.uuid4().hex[:8]
    return [_replayed(client, question, f"comptoir-evaluate-{run}-{number}", number)
            for number, question in enumerate(questions, start=1)]


def _replayed(client: RasaClient, question: Question, sender: str,
              number: int) -> RasaOutcome:
    metadata = {"language": question.language} if question.language else {}
    started = time.perf_counter()
    try:
        answer = client.send(sender, question.text, metadata)
        seconds = time.perf_counter() - started
        actions = reply_actions(answer)
    except RasaError as exc:
        raise EvaluationError(f"question {number} ({question.text!r}): {exc}") from None
    action = decisive(actions)
    article = (article_names(answer).get(action.citation.article_id)
               if isinstance(action, Answer) else None)
    return RasaOutcome(question, action, article, seconds, [a.text for a in actions])


def decisive(actions: Sequence[Action]) -> Action | None:
    """The action that settles the question: the first answer or handoff, else the first
    message, else None."""
    settling = [a for a in actions if isinstance(a, Answer | Escalate)]
    return (settling or list(actions) or [None])[0]


def article_names(answer: Any) -> dict[int, str]:
    """Each article cited in Rasa's raw reply → its external id (``faq`` payload of an
    exported response), else its id as text."""
    names = {}
    for element in answer:
        custom = element.get("custom") or {}
        citation, faq = custom.get("citation"), custom.get("faq") or {}
        if isinstance(citation, dict) and isinstance(faq, dict):
            article_id = citation.get("article_id")
            names[article_id] = faq.get("external_id") or str(article_id)
    return names


def rasa_metrics(outcomes: Sequence[RasaOutcome]) -> dict[str, Any]:
    """The built-in engine's metrics, the handoff rate, and Rasa's time per message."""
    seconds = np.asarray([o.seconds for o in outcomes], dtype=np.float64)
    handoffs = sum(o.handed_off for o in outcomes)
    return metrics(outcomes) | {
        "handoff_rate": round(handoffs / len(outcomes), 4) if outcomes else None,
        "latency_p50_ms": _milliseconds(seconds, 50), "latency_p95_ms": _milliseconds(seconds, 95),
    }


def _milliseconds(seconds: np.ndarray, percentile: float) -> float | None:
    return round(float(np.percentile(seconds, percentile)) * 1000, 1) if seconds.size else None


def rasa_detail(outcome: RasaOutcome) -> dict[str, Any]:
    """One line of ``--details``: the question, what Rasa did, and how long it took."""
    action = outcome.action
    kind = {Answer: "answer", Escalate: "handoff", Reply: "reply"}.get(type(action), "silent")
    return {
        "text": outcome.question.text, "expected": outcome.question.expected,
        "action": kind, "article": outcome.article,
        "correct": outcome.article == outcome.question.expected,
        "reason": action.reason.value if isinstance(action, Escalate) else None,
        "ms": round(outcome.seconds * 1000, 1), "replies": outcome.texts,
    }
