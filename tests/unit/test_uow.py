"""The unit of work writes history with the change and publishes only after commit."""

import pytest

from helpdesk import events
from helpdesk.events import SYSTEM, Actor, EventBus
from helpdesk.models import AuditLog, TimelineEvent
from helpdesk.uow import UnitOfWork
from tests.fakes import FakeSessionFactory, JournalingHandler

AGENT = Actor("agent", 7)
CUSTOMER = Actor("customer", 3)


def unit(factory):
    bus = EventBus()
    handler = JournalingHandler(factory.journal)
    bus.subscribe(events.DomainEvent, handler)
    return UnitOfWork(factory, bus), handler


def status_changed(actor):
    return events.StatusChanged(actor=actor, customer_id=3, conversation_id=11,
                                channel="email", old="open", new="solved")


def rows_of(session, model):
    return [row for row in session.committed if isinstance(row, model)]


def test_commit_writes_a_timeline_row_per_customer_event():
    factory = FakeSessionFactory()
    uow, _ = unit(factory)
    with uow:
        uow.record(status_changed(AGENT))
        uow.commit()
    [row] = rows_of(factory.sessions[0], TimelineEvent)
    assert (row.customer_id, row.conversation_id, row.type, row.channel) == (
        3, 11, "conversation.status_changed", "email")
    assert (row.actor_kind, row.actor_id, row.payload) == ("agent", 7,
                                                           {"from": "open", "to": "solved"})


def test_audited_staff_actions_also_write_an_audit_row():
    factory = FakeSessionFactory()
    uow, _ = unit(factory)
    with uow:
        uow.record(status_changed(AGENT))
        uow.record(events.StaffChanged(actor=AGENT, action="user.created", target_type="user",
                                       target_id=5, details={"role": "agent"}))
        uow.commit()
    audit = rows_of(factory.sessions[0], AuditLog)
    assert [(a.user_id, a.action, a.target_type, a.target_id) for a in audit] == [
        (7, "conversation.status_changed", "conversation", 11),
        (7, "user.created", "user", 5)]
    assert audit[1].details == {"role": "agent"}
    assert len(rows_of(factory.sessions[0], TimelineEvent)) == 1  # a user is not a customer


def test_customer_and_system_actions_are_not_audited():
    factory = FakeSessionFactory()
    uow, _ = unit(factory)
    with uow:
        uow.record(status_changed(CUSTOMER))
        uow.record(events.StaffChanged(actor=SYSTEM, action="user.created", target_type="user",
                                       target_id=5))
        uow.commit()
    assert rows_of(factory.sessions[0], AuditLog) == []


def test_events_are_published_after_the_commit_in_recorded_order():
    factory = FakeSessionFactory()
    uow, _ = unit(factory)
    with uow:
        uow.record(events.CustomerCreated(actor=SYSTEM, customer_id=3, name="Ada"))
        uow.record(status_changed(AGENT))
        uow.commit()
    assert factory.journal == ["commit", "publish:customer.created",
                               "publish:conversation.status_changed", "rollback", "close"]
    assert uow.events == []


def test_leaving_without_commit_publishes_and_writes_nothing():
    factory = FakeSessionFactory()
    uow, handler = unit(factory)
    with uow:
        uow.record(status_changed(AGENT))
    assert factory.journal == ["rollback", "close"]
    assert (factory.sessions[0].committed, handler.events, uow.events) == ([], [], [])


def test_a_failed_commit_publishes_nothing_and_forgets_the_events():
    factory = FakeSessionFactory(fail_commit=True)
    uow, handler = unit(factory)
    with pytest.raises(RuntimeError), uow:
        uow.record(status_changed(AGENT))
        uow.commit()
    assert handler.events == []
    assert uow.events == []
    assert factory.journal == ["rollback", "close"]


def test_rollback_discards_recorded_events_so_a_later_commit_does_not_write_them():
    factory = FakeSessionFactory()
    uow, handler = unit(factory)
    with uow:
        uow.record(status_changed(AGENT))
        uow.rollback()
        uow.record(events.CustomerCreated(actor=SYSTEM, customer_id=3))
        uow.commit()
    assert [r.type for r in rows_of(factory.sessions[0], TimelineEvent)] == ["customer.created"]
    assert [e.timeline_type for e in handler.events] == ["customer.created"]


def test_a_failing_handler_does_not_undo_the_commit():
    factory = FakeSessionFactory()
    bus = EventBus()
    bus.subscribe(events.DomainEvent, lambda _e: 1 / 0)
    with UnitOfWork(factory, bus) as uow:
        uow.record(status_changed(AGENT))
        uow.commit()
    assert len(rows_of(factory.sessions[0], TimelineEvent)) == 1
