"""What the assistant does with a customer message: answer, offer choices, or hand over."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EscalationReason(StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    ASKED_FOR_HUMAN = "asked_for_human"
    UNHELPFUL_STREAK = "unhelpful_streak"
    MARKED_UNHELPFUL = "marked_unhelpful"
    NO_ARTICLES = "no_articles"


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


Action = Answer | Clarify | Escalate
