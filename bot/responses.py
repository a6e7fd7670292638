"""What the assistant does with a customer message: answer, offer choices, reply (a
dialogue engine such as Rasa), or hand over."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class EscalationReason(StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    ASKED_FOR_HUMAN = "asked_for_human"
    UNHELPFUL_STREAK = "unhelpful_streak"
    MARKED_UNHELPFUL = "marked_unhelpful"
    NO_ARTICLES = "no_articles"
    # A dialogue engine (Rasa) handed over for a reason of its own.
    ASSISTANT_HANDOFF = "assistant_handoff"


@dataclass(frozen=True)
class Citation:
    """The article an answer comes from: cite the version the customer was shown."""

    article_id: int
    version: int
    title: str
    url: str


@dataclass(frozen=True)
class Answer:
    """A short reply taken from the best article, with the article cited."""

    text: str
    citation: Citation
    confidence: float = 1.0


@dataclass(frozen=True)
class Clarify:
    """Two or three close candidate articles, offered as buttons (best first)."""

    text: str
    options: tuple[Citation, ...]
    confidence: float = 1.0


@dataclass(frozen=True)
class Escalate:
    """Hand the conversation to people; ``best_score`` is the best confidence reached
    (None when no search ran), kept for the knowledge managers' unanswered questions."""

    reason: EscalationReason
    best_score: float | None
    text: str
    queue: str | None = None  # the queue to route to, by name; None: the site's queue


@dataclass(frozen=True)
class Button:
    """A quick reply: the customer sees and says ``title``; the engine gets ``payload``
    (for Rasa, an intent such as ``/affirm`` or plain text)."""

    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """A message of a dialogue engine (Rasa): its text, quick replies, an image's URL, and
    a custom payload Comptoir does not interpret, kept with the message."""

    text: str
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    custom: dict[str, Any] | None = None


Action = Answer | Clarify | Escalate | Reply
