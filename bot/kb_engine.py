"""The built-in engine: answers from the knowledge base, hands over when it should.

For each message: embed it, check whether it asks for a person, search the published
public articles in the conversation's language, score the best hit with the calibrated
confidence model (these steps in a batch shared with concurrent questions: one model,
faiss and scikit-learn call for them all), then ``decide``. Every escalation is reported
to ``on_unanswered`` with its best score.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import faiss
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.batching import DEFAULT_WINDOW_SECONDS, MicroBatcher
from bot.calibration import HITS, ConfidenceModel
from bot.decision import Decision, Outcome, decide, handover_reason
from bot.engine import BotContext, BotThresholds
from bot.human_request import HumanRequestDetector
from bot.responses import (
    Action,
    Answer,
    Citation,
    Clarify,
    Escalate,
    EscalationReason,
)
from knowledge_base.help_centre.views import slugify
from knowledge_base.models import Article, ArticleChunk, ChunkKind
from knowledge_base.search.embedder import Embedder
from knowledge_base.search.engine import SearchFilters, SearchHit
from knowledge_base.search.service import SearchService

log = logging.getLogger(__name__)
EXTRACT_CHARS = 300
MAX_KEPT_REPLIES = 10_000  # hits' citations and extracts kept in memory, at most
SENTENCE_END = re.compile(r"(?<=[.!?…])\s")
MARKDOWN = re.compile(r"^#{1,6}\s+|[*_`]+|^\s*[-+]\s+", re.MULTILINE)
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
MESSAGES = {
    "en": {"clarify": "Which of these is closest to your question?",
           "escalate": "Let me pass you to a member of our team: they will reply here."},
    "fr": {"clarify": "Laquelle de ces réponses correspond le mieux à votre question ?",
           "escalate": "Je vous mets en relation avec un membre de notre équipe : "
                       "il vous répondra ici."},
}


@dataclass(frozen=True)
class UnansweredQuestion:
    """An escalated question, for the knowledge managers' "unanswered questions"."""

    conversation_id: int | None
    text: str
    language: str | None
    reason: EscalationReason
    best_score: float | None
    best_article_id: int | None


def log_unanswered(question: UnansweredQuestion) -> None:
    """Log the escalation without the customer's words: a process log cannot be erased
    (the question itself is stored, and erased with the conversation)."""
    log.info("assistant escalated (%s, best score %s) in conversation %s", question.reason,
             question.best_score, question.conversation_id)


@dataclass(frozen=True)
class FallbackConfidence:
    """Before calibration (or on a knowledge base too small for it): the best hit's
    cosine, answered from ``min_similarity``."""

    min_similarity: float

    def confidence(self, hits: list[SearchHit]) -> float:
        return float(hits[0].dense or 0.0) if hits else 0.0


@dataclass(frozen=True)
class HitReply:
    """What the customer is shown of a hit: its article cited, and the extract."""

    citation: Citation
    extract: str


@dataclass(frozen=True)
class Assessment:
    """What the knowledge base says of a question, before the conversation's rules: it
    asks for a person, or its hits, the best one's confidence and the line to answer from."""

    asks_for_human: bool
    hits: list[SearchHit]
    confidence: float
    line: float


class KnowledgeBaseEngine:
    """``Engine`` over the knowledge-base search. ``confidence_model`` returns the current
    calibrated model (None until there is one). Concurrent questions arriving within
    ``window_seconds`` are assessed in one batch."""

    def __init__(self, search: SearchService, embedder: Embedder,
                 sessions: sessionmaker[Session], detector: HumanRequestDetector,
                 confidence_model: Callable[[], ConfidenceModel | None],
                 thresholds: BotThresholds, fallback: FallbackConfidence,
                 on_unanswered: Callable[[UnansweredQuestion], None] = log_unanswered,
                 window_seconds: float = DEFAULT_WINDOW_SECONDS) -> None:
        self._search = search
        self._embedder = embedder
        self._sessions = sessions
        self._detector = detector
        self._confidence_model = confidence_model
        self.thresholds = thresholds
        self._fallback = fallback
        self._on_unanswered = on_unanswered
        self._assessor: MicroBatcher[tuple[str, str | None], Assessment] = MicroBatcher(
            self.assess, window_seconds=window_seconds, name="bot-assessor",
            on_start=lambda: faiss.omp_set_num_threads(1))
        self._replies: dict[tuple[int, int, int | None], HitReply] = {}

    def respond(self, context: BotContext, message: str) -> list[Action]:
        """Answer, offer choices, or escalate (see the module docstring)."""
        decision, _ = self.decide(context, message)
        return self.actions(context, message, decision)

    def answer_or_escalate(self, context: BotContext, message: str) -> Answer | Escalate:
        """The decision for a question asked on its own, without buttons to offer (the API,
        e.g. for Rasa's fallback action): where a chat would offer close choices, the best
        of them answers."""
        decision, _ = self.decide(context, message)
        if decision.outcome is Outcome.CLARIFY:
            decision = replace(decision, outcome=Outcome.ANSWER, hits=decision.hits[:1])
        [action] = self.actions(context, message, decision)
        assert not isinstance(action, Clarify)
        return action

    def actions(self, context: BotContext, message: str, decision: Decision) -> list[Action]:
        """The actions carrying out ``decision``; an escalation is reported as unanswered."""
        action = self._action(decision, context.language)
        if isinstance(action, Escalate):
            best = decision.hits[0].article_id if decision.hits else None
            self._on_unanswered(UnansweredQuestion(
                context.conversation_id, message, context.language, action.reason,
                action.best_score, best))
        return [action]

    def decide(self, context: BotContext, message: str) -> tuple[Decision, list[SearchHit]]:
        """The decision and the hits it was made on (``bot evaluate`` records both)."""
        thresholds = self.thresholds.overridden(context.thresholds)
        [assessment] = self._assessor.submit([(message, context.language)])
        if assessment.asks_for_human:
            return Decision(Outcome.ESCALATE, (), None, EscalationReason.ASKED_FOR_HUMAN), []
        hits, confidence = assessment.hits, assessment.confidence
        reason = handover_reason(context, thresholds.max_unhelpful)
        if reason is not None:
            return Decision(Outcome.ESCALATE, tuple(hits[:1]), confidence, reason), hits
        minimum = (assessment.line if thresholds.min_confidence is None
                   else thresholds.min_confidence)
        return decide(hits, confidence, minimum, thresholds.clarify_margin), hits

    def assess(self, questions: Sequence[tuple[str, str | None]]) -> list[Assessment]:
        """Each (message, language)'s ``Assessment``, with one call of the model, the
        detector, faiss, the classifier and each confidence scorer for them all."""
        vectors = self._embedder.encode([text for text, _ in questions])
        asks = self._detector.asks_for_human_many(vectors)
        searched = [n for n, asked in enumerate(asks) if not asked]
        texts = [questions[n][0] for n in searched]
        hits = self._search.search_vectors(
            [(questions[n][0], SearchFilters(language=questions[n][1])) for n in searched],
            vectors[searched], HITS)
        model = self._confidence_model()
        if model is None:
            line = self._fallback.min_similarity
            confidences = [self._fallback.confidence(found) for found in hits]
        else:
            line = model.threshold
            confidences = model.confidences(hits, texts, vectors[searched])
        found = dict(zip(searched, zip(hits, confidences, strict=True), strict=True))
        return [Assessment(False, *found[n], line) if n in found
                else Assessment(True, [], 0.0, line) for n in range(len(questions))]

    def _action(self, decision: Decision, language: str | None) -> Action:
        texts = MESSAGES.get(language or "en", MESSAGES["en"])
        if decision.outcome is Outcome.ESCALATE:
            assert decision.reason is not None
            return Escalate(decision.reason, decision.confidence, texts["escalate"])
        confidence = decision.confidence or 0.0
        replies = [self._reply(hit) for hit in decision.hits]
        if decision.outcome is Outcome.CLARIFY:
            return Clarify(texts["clarify"], tuple(r.citation for r in replies), confidence)
        return Answer(replies[0].extract, replies[0].citation, confidence)

    def _reply(self, hit: SearchHit) -> HitReply:
        """The hit's citation and extract, kept once read from the version it was indexed
        at while that version was the article's current one (a version never changes). A
        hit on any example question replies with the same extract (see ``extract``)."""
        key = (hit.article_id, hit.version, None if hit.from_question else hit.chunk_id)
        reply = self._replies.get(key)
        if reply is None:
            reply, current = read_reply(self._sessions, hit)
            if current:
                self._keep(key, reply)
        return reply

    def _keep(self, key: tuple[int, int, int | None], reply: HitReply) -> None:
        """Remember ``reply``; when ``MAX_KEPT_REPLIES`` are, forget them all first."""
        if len(self._replies) >= MAX_KEPT_REPLIES:
            self._replies.clear()
        self._replies[key] = reply


def read_reply(sessions: sessionmaker[Session], hit: SearchHit) -> tuple[HitReply, bool]:
    """The hit's citation and extract from the database, and whether the article's current
    version, read after them, is still the one the hit was indexed at (versions only move
    on, so then they were read from that version)."""
    with sessions() as session:
        reply = HitReply(citation(session, hit), extract(session, hit))
        version = session.scalar(select(Article.current_version)
                                 .where(Article.id == hit.article_id))
        return reply, version == hit.version


def citation(session: Session, hit: SearchHit) -> Citation:
    """The hit's article as cited: id, the version indexed, title, help-centre address."""
    article = session.get(Article, hit.article_id)
    title = article.title if article is not None else ""
    language = article.language if article is not None else "en"
    return Citation(hit.article_id, hit.version, title,
                    article_url(hit.article_id, language, title))


def article_url(article_id: int, language: str, title: str) -> str:
    """The article's address in the help centre."""
    return f"/help/{language}/articles/{article_id}-{slugify(title)}"


def extract(session: Session, hit: SearchHit) -> str:
    """A short reply from the hit's best body chunk (its first one when the best match
    was an example question), cut at a sentence end; the title when the body is empty."""
    chunk = session.get(ArticleChunk, hit.chunk_id)
    if chunk is None or chunk.kind is not ChunkKind.CHUNK:
        chunk = session.scalars(
            select(ArticleChunk).where(ArticleChunk.article_id == hit.article_id,
                                       ArticleChunk.kind == ChunkKind.CHUNK)
            .order_by(ArticleChunk.position).limit(1)).first()
    text = plain_text(chunk.text) if chunk is not None else ""
    if not text:
        article = session.get(Article, hit.article_id)
        return article.title if article is not None else ""
    return shortened(text, EXTRACT_CHARS)


def plain_text(markdown: str) -> str:
    """Markdown reduced to its words on one line (links keep their text)."""
    return " ".join(MARKDOWN.sub("", LINK.sub(r"\1", markdown)).split())


def shortened(text: str, most: int) -> str:
    """``text`` cut after the last sentence that fits in ``most`` characters (else at a
    word, with an ellipsis)."""
    if len(text) <= most:
        return text
    head = text[:most + 1]
    ends = [m.start() for m in SENTENCE_END.finditer(head)]
    if ends:
        return head[:ends[-1]].rstrip()
    return head.rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
