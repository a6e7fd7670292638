"""Offline replay: how would the assistant have handled these questions with this KB?

A throw-away app (SQLite and an instance folder in a temporary directory) imports the
knowledge base, calibrates as the live assistant does, and replays every question
through the same engine with the shipped defaults. A *clarify* counts as an answer with
its first candidate; an out-of-scope question (``expected`` null) should be escalated.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import select

from bot.engine import BotContext
from bot.kb_engine import KnowledgeBaseEngine
from bot.responses import Action, Answer, Clarify, Escalate
from bot.service import Assistant, init_app
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.migrate import migrated_app
from knowledge_base import importer
from knowledge_base.models import Article
from knowledge_base.search import search_service
from knowledge_base.search.embedder import Embedder
from knowledge_base.search.engine import SearchHit

CONCURRENT_QUESTIONS = 16  # replayed at once, so their embeddings batch as live ones do
SETTLE_SECONDS = 3600.0


class EvaluationError(ValueError):
    """The knowledge base or the questions cannot be used (the message says why)."""


@dataclass(frozen=True)
class Question:
    text: str
    expected: str | None  # the article id of KB.jsonl; None: nothing answers it
    language: str | None = None


@dataclass(frozen=True)
class Outcome:
    """One replayed question: the action, and the article answered with (or None)."""

    question: Question
    action: Action
    article: str | None
    options: list[str]  # a clarify's candidates
    best: str | None  # the best hit's article, answered or not
    hits: list[SearchHit]
    threshold: float | None

    @property
    def answered(self) -> bool:
        return self.article is not None


def read_questions(path: Path) -> list[Question]:
    """One JSON object a line: ``{"text": ..., "expected": id or null}``."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            questions.append(_question(number, line))
    return questions


def _question(number: int, line: str) -> Question:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EvaluationError(f"questions line {number}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str) or (
            data.get("expected") is not None and not isinstance(data["expected"], str)):
        raise EvaluationError(f"questions line {number}: expected "
                              '{"text": "...", "expected": "<article id>" or null}')
    return Question(data["text"], data.get("expected"), data.get("language"))


class Replayed(Protocol):
    """What the metrics read of a replayed question (built-in engine or Rasa)."""

    @property
    def question(self) -> Question: ...

    @property
    def article(self) -> str | None: ...

    @property
    def answered(self) -> bool: ...


def metrics(outcomes: Sequence[Replayed]) -> dict[str, Any]:
    """n, in-scope accuracy, out-of-scope recall, wrong-answer rate, coverage."""
    in_scope = [o for o in outcomes if o.question.expected is not None]
    out_of_scope = [o for o in outcomes if o.question.expected is None]
    answered = [o for o in outcomes if o.answered]
    return {
        "n": len(outcomes),
        "in_scope_accuracy": _rate(sum(o.article == o.question.expected for o in in_scope),
                                   len(in_scope)),
        "oos_recall": _rate(sum(not o.answered for o in out_of_scope), len(out_of_scope)),
        "wrong_answer_rate": _rate(sum(o.article != o.question.expected for o in answered),
                                   len(answered)),
        "coverage": _rate(len(answered), len(outcomes)),
    }


def _rate(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def evaluate(kb: Path, questions: Sequence[Question],
             embedder_factory: Callable[[], Embedder] | None = None,
             log: Callable[[str], None] = lambda line: None) -> list[Outcome]:
    """Replay ``questions`` against a throw-away knowledge base imported from ``kb``."""
    with throwaway_app(embedder_factory) as app, app.app_context():
        external = import_kb(kb)
        assistant = calibrated_assistant(app)
        model = assistant.calibrator.model
        log(f"calibrated on {model.queries} held-out searches, answers from confidence "
            f"{model.threshold:.3f}" if model else
            "too few example questions to calibrate: the fallback similarity applies")
        return replay(assistant.engine, questions, external,
                      model.threshold if model else assistant.fallback.min_similarity)


@contextmanager
def throwaway_app(embedder_factory: Callable[[], Embedder] | None) -> Iterator[Flask]:
    """A migrated app on SQLite in a temporary folder, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="comptoir-bot-evaluate-") as folder, migrated_app(
            {"database_url": f"sqlite:///{folder}/kb.db", "instance_path": f"{folder}/instance",
             "secret_key": "evaluate", "log_level": "WARNING"}, embedder_factory) as app:
        yield app


def import_kb(path: Path) -> dict[int, str]:
    """Import the articles of ``path``; their database id → id in the file."""
    summary = importer.import_entries(importer.read_path(path), unit_of_work, SYSTEM)
    if summary.rejected:
        reasons = "; ".join(f"{r.location}: {r.reason}" for r in summary.rejected[:5])
        raise EvaluationError(f"{path}: {len(summary.rejected)} article(s) rejected: {reasons}")
    rows = db.session.execute(select(Article.id, Article.external_id))
    return {article_id: external or str(article_id) for article_id, external in rows}


def calibrated_assistant(app: Flask) -> Assistant:
    """The app's assistant once the index, its classifier and the calibration are ready
    (the assistant is set up after the import: it calibrates once, on the whole KB)."""
    assistant = init_app(app)
    search_service(app).settle(SETTLE_SECONDS)
    return assistant


def replay(engine: KnowledgeBaseEngine, questions: Sequence[Question],
           external: dict[int, str], threshold: float | None) -> list[Outcome]:
    """Every question through the engine, a few at a time; outcomes in question order."""
    def one(question: Question) -> Outcome:
        context = BotContext(language=question.language)
        decision, hits = engine.decide(context, question.text)
        action = engine.actions(context, question.text, decision)[0]
        article = answered_article(action)
        options = ([external[o.article_id] for o in action.options]
                   if isinstance(action, Clarify) else [])
        return Outcome(question, action, external.get(article) if article else None,
                       options, external.get(hits[0].article_id) if hits else None, hits,
                       threshold)

    with ThreadPoolExecutor(CONCURRENT_QUESTIONS) as pool:
        return list(pool.map(one, questions))


def answered_article(action: Action) -> int | None:
    """The article an action answers with: a clarify's first candidate; None: escalated."""
    if isinstance(action, Answer):
        return action.citation.article_id
    if isinstance(action, Clarify):
        return action.options[0].article_id
    return None


def detail(outcome: Outcome) -> dict[str, Any]:
    """One line of ``--details``: the question, what was done, and the scores."""
    action = outcome.action
    kind = {Answer: "answer", Clarify: "clarify", Escalate: "escalate"}[type(action)]
    confidence = action.best_score if isinstance(action, Escalate) else action.confidence
    return {
        "text": outcome.question.text, "expected": outcome.question.expected,
        "action": kind, "article": outcome.article, "best_article": outcome.best,
        "correct": outcome.article == outcome.question.expected,
        "reason": action.reason.value if isinstance(action, Escalate) else None,
        "confidence": _rounded(confidence), "threshold": _rounded(outcome.threshold),
        "options": outcome.options or None,
        "hits": [{"article_id": h.article_id, "score": _rounded(h.score),
                  "dense": _rounded(h.dense), "lexical": _rounded(h.lexical),
                  "classifier": _rounded(h.classifier)} for h in outcome.hits],
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
