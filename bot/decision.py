"""The assistant's decision, without I/O: hand over, answer, or offer close candidates.

``handover_reason`` applies the conversation's rules (the customer marked the last answer
unhelpful, or got too many unhelpful answers in a row); ``decide`` turns the search hits
and the calibrated confidence of the best one into the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.engine import BotContext
from bot.responses import EscalationReason
from knowledge_base.search.engine import SearchHit

MAX_OPTIONS = 3


class Outcome(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class Decision:
    """``hits``: the article answered from, or the 2-3 offered (best first), or for an
    escalation the best hit there was (kept with the unanswered question)."""

    outcome: Outcome
    hits: tuple[SearchHit, ...]
    confidence: float | None
    reason: EscalationReason | None = None


def handover_reason(context: BotContext, max_unhelpful: int) -> EscalationReason | None:
    """Why the conversation goes to people whatever the knowledge base says, if it does."""
    if context.marked_unhelpful:
        return EscalationReason.MARKED_UNHELPFUL
    if context.unhelpful_streak >= max_unhelpful:
        return EscalationReason.UNHELPFUL_STREAK
    return None


def decide(hits: Sequence[SearchHit], confidence: float, min_confidence: float,
           clarify_margin: float) -> Decision:
    """Escalate below ``min_confidence``; else offer the best hit with the runners-up whose
    fused score is within ``clarify_margin`` of it, or answer from the best hit alone."""
    if not hits:
        return Decision(Outcome.ESCALATE, (), None, EscalationReason.NO_ARTICLES)
    if confidence < min_confidence:
        return Decision(Outcome.ESCALATE, (hits[0],), confidence,
                        EscalationReason.LOW_CONFIDENCE)
    best = hits[0]
    close = tuple(h for h in hits[1:MAX_OPTIONS] if best.score - h.score <= clarify_margin)
    if close:
        return Decision(Outcome.CLARIFY, (best, *close), confidence)
    return Decision(Outcome.ANSWER, (best,), confidence)
