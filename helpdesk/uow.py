"""The unit of work: one session, one commit, the events it recorded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from helpdesk.events import DomainEvent, EventBus
from helpdesk.models import AuditLog, TimelineEvent


class UnitOfWork:
    """Use as ``with UnitOfWork(factory, bus) as uow: service(uow, ...)``.

    Services call ``uow.record(event)`` and ``uow.commit()`` once. Commit writes
    the history rows with the change, then publishes the events to the bus.
    Leaving the block without a commit rolls everything back.
    """

    def __init__(self, session_factory: sessionmaker[Session], bus: EventBus) -> None:
        self._factory = session_factory
        self._bus = bus
        self.events: list[DomainEvent] = []
        self._deferring = False

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        self.events = []
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.rollback()
        self.session.close()

    def record(self, event: DomainEvent) -> None:
        self.events.append(event)

    @contextmanager
    def one_transaction(self) -> Iterator[None]:
        """Several service calls as one change: inside, their commits only flush; the block
        commits once at its end. An error inside leaves it all to the rollback. Inside
        another such block, it is part of that one."""
        if self._deferring:
            yield
            return
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        self.commit()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the transaction that fails alone: an error inside undoes its changes
        and the events it recorded, then goes on up; what came before is kept."""
        recorded = len(self.events)
        try:
            with self.session.begin_nested():
                yield
        except BaseException:
            del self.events[recorded:]
            raise

    def commit(self) -> None:
        """Write the change and its history rows in one transaction, then publish."""
        if self._deferring:
            self.session.flush()
            return
        self.session.add_all(_history_rows(self.events))
        self.session.commit()
        published, self.events = self.events, []
        self._bus.publish(published)

    def rollback(self) -> None:
        """Undo everything since the last commit, recorded events included."""
        self.events = []
        self.session.rollback()


def _history_rows(events: list[DomainEvent]) -> list[TimelineEvent | AuditLog]:
    rows: list[TimelineEvent | AuditLog] = []
    for event in events:
        if event.timeline_type and event.customer_id is not None:
            rows.append(_timeline_row(event))
        if event.audited and event.actor.is_staff:
            rows.append(_audit_row(event))
    return rows


def _timeline_row(event: DomainEvent) -> TimelineEvent:
    return TimelineEvent(
        customer_id=event.customer_id, conversation_id=event.conversation_id,
        type=event.timeline_type, channel=event.channel, actor_kind=event.actor.kind,
        actor_id=event.actor.id, payload=event.payload(), occurred_at=event.occurred_at)


def _audit_row(event: DomainEvent) -> AuditLog:
    action = getattr(event, "action", None) or event.timeline_type or type(event).__name__
    target_type = getattr(event, "target_type", None) or (
        "conversation" if event.conversation_id else "customer")
    target_id = getattr(event, "target_id", None) or event.conversation_id or event.customer_id
    return AuditLog(user_id=event.actor.id, action=action, target_type=target_type,
                    target_id=target_id, details=event.payload(), created_at=event.occurred_at)
