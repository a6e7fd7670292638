"""The app's assistant: its engine, and the confidence model kept calibrated.

``init_app`` hooks the calibration onto the search service's background training, so the
confidence model follows every change of the knowledge base (``search_service(app)
.settle()`` waits for it too). ``assistant(app).engine`` is the built-in ``Engine``;
``chat_engine(app)`` the one the ``bot_engine`` setting names for live chats.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app
from sqlalchemy.orm import Session, sessionmaker

from bot.batching import BatchingEmbedder
from bot.calibration import CalibrationSettings, ConfidenceModel, calibrate
from bot.engine import BotThresholds, Engine
from bot.human_request import HumanRequestDetector
from bot.kb_engine import FallbackConfidence, KnowledgeBaseEngine
from bot.rasa_engine import HttpRasaClient, RasaEngine
from helpdesk.extensions import db
from knowledge_base.search import search_service, store

log = logging.getLogger(__name__)
EXTENSION = "comptoir.bot"


class Calibrator:
    """Holds the current confidence model; called after each classifier training."""

    def __init__(self, sessions: sessionmaker[Session], settings: CalibrationSettings) -> None:
        self._sessions = sessions
        self.settings = settings
        self.model: ConfidenceModel | None = None
        self.calibrations = 0

    def __call__(self) -> None:
        """Recalibrate on the knowledge base as the database holds it now."""
        with self._sessions() as session:
            rows = store.chunk_rows(session)
        self.model = calibrate(rows, self.settings)
        self.calibrations += 1
        log.info("assistant calibrated on %d chunks: %s", len(rows),
                 f"answers from confidence {self.model.threshold:.3f}" if self.model
                 else "too few example questions, the fallback similarity applies")


class Assistant:
    def __init__(self, app: Flask) -> None:
        settings = app.config["COMPTOIR"]
        with app.app_context():
            self._sessions = db.session_factory
        self.search = search_service(app)
        self.thresholds = BotThresholds(clarify_margin=settings.bot_clarify_margin,
                                        max_unhelpful=settings.bot_max_unhelpful)
        self.fallback = FallbackConfidence(settings.bot_fallback_min_similarity)
        self.window_seconds = settings.bot_batch_window_ms / 1000
        self.calibrator = Calibrator(self._sessions, CalibrationSettings(
            handover_weight=settings.bot_handover_weight))
        self._engine: KnowledgeBaseEngine | None = None
        self._lock = threading.Lock()
        self.search.add_training_listener(self.calibrator)

    @property
    def engine(self) -> KnowledgeBaseEngine:
        """The knowledge-base engine (built on first use: it loads the model)."""
        with self._lock:
            if self._engine is None:
                model = self.search.embedder
                detector = HumanRequestDetector(
                    BatchingEmbedder(model, window_seconds=self.window_seconds))
                self._engine = KnowledgeBaseEngine(
                    self.search, model, self._sessions, detector,
                    lambda: self.calibrator.model, self.thresholds, self.fallback,
                    window_seconds=self.window_seconds)
            return self._engine


def init_app(app: Flask) -> Assistant:
    """Give ``app`` its assistant (once); cheap: the model loads on first answer."""
    if EXTENSION not in app.extensions:
        app.extensions[EXTENSION] = Assistant(app)
    return app.extensions[EXTENSION]


def assistant(app: Flask | None = None) -> Assistant:
    """The app's assistant, set up on first call when ``init_app`` was not."""
    return init_app(app or current_app._get_current_object())


def chat_engine(app: Flask) -> Engine:
    """The engine ``bot_engine`` names: the built-in one, or Rasa with the built-in one
    answering whatever Rasa cannot."""
    settings = app.config["COMPTOIR"]
    builtin = assistant(app).engine
    if settings.bot_engine == "builtin":
        return builtin
    return RasaEngine(HttpRasaClient(settings.rasa_url, settings.rasa_timeout_seconds),
                      fallback=builtin)
