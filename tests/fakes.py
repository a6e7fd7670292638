"""Test doubles for the unit tests: no database, no network."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterable, Sequence
from email.message import EmailMessage

import numpy as np

from helpdesk.events import DomainEvent
from helpdesk.mail.outbound import SendFailed
from knowledge_base.search.embedder import Vectors
from knowledge_base.search.text import tokens


class FakeSession:
    """Stands in for a SQLAlchemy session: keeps what was added and what got committed.

    Every commit, rollback and close is appended to the factory's shared ``journal``,
    so a test can check the order of commit and publication.
    """

    def __init__(self, journal: list[str], fail_commit: bool) -> None:
        self.journal = journal
        self.fail_commit = fail_commit
        self.pending: list[object] = []
        self.committed: list[object] = []

    def add_all(self, rows: Iterable[object]) -> None:
        self.pending.extend(rows)

    def commit(self) -> None:
        if self.fail_commit:
            raise RuntimeError("the database refused the commit")
        self.committed.extend(self.pending)
        self.pending = []
        self.journal.append("commit")

    def rollback(self) -> None:
        self.pending = []
        self.journal.append("rollback")

    def close(self) -> None:
        self.journal.append("close")


class FakeSessionFactory:
    """Callable like a ``sessionmaker``; hands out FakeSessions sharing one journal."""

    def __init__(self, *, fail_commit: bool = False) -> None:
        self.journal: list[str] = []
        self.sessions: list[FakeSession] = []
        self.fail_commit = fail_commit

    def __call__(self) -> FakeSession:
        session = FakeSession(self.journal, self.fail_commit)
        self.sessions.append(session)
        return session


class JournalingHandler:
    """An after-commit handler writing ``publish:<timeline type>`` into a journal."""

    def __init__(self, journal: list[str]) -> None:
        self.journal = journal
        self.events: list[DomainEvent] = []

    def __call__(self, event: DomainEvent) -> None:
        self.events.append(event)
        self.journal.append(f"publish:{event.timeline_type}")


class FakeEmbedder:
    """Hashed bag of words: texts sharing words get close vectors, with no model to load."""

    dimension = 64
    name = "fake-bag-of-words"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            for word in tokens(text) or ["<empty>"]:
                row[zlib.crc32(word.encode()) % self.dimension] += 1.0
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


class ScriptedEngine:
    """An assistant engine that answers every message with the same actions (none: silent)."""

    def __init__(self, *actions: object) -> None:
        self.actions = list(actions)
        self.seen: list[str] = []

    def respond(self, context: object, message: str) -> list:
        self.seen.append(message)
        return list(self.actions)


class FakeMailer:
    """A Mailer that keeps what it is given; ``failures`` are raised first, one per send.

    Thread-safe: concurrent workers may share one.
    """

    def __init__(self, *failures: SendFailed) -> None:
        self.failures = list(failures)
        self.sent: list[tuple[EmailMessage, str, list[str]]] = []
        self._lock = threading.Lock()

    def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> dict[str, str]:
        with self._lock:
            if self.failures:
                raise self.failures.pop(0)
            self.sent.append((message, sender, list(recipients)))
        return {}

    @property
    def messages(self) -> list[EmailMessage]:
        return [message for message, _sender, _recipients in self.sent]


class FakeRasaClient:
    """Rasa's REST channel, scripted: every message gets ``answer`` (raised when it is an
    exception); ``sent`` keeps each (sender, message, metadata)."""

    def __init__(self, answer: object = None) -> None:
        self.answer = [] if answer is None else answer
        self.sent: list[tuple[str, str, dict]] = []

    def send(self, sender: str, message: str, metadata: dict) -> object:
        self.sent.append((sender, message, metadata))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer
