"""Test doubles for the unit tests: no database, no network."""

from __future__ import annotations

from collections.abc import Iterable

from helpdesk.events import DomainEvent


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
