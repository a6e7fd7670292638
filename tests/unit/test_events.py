"""The after-commit EventBus: order, subclasses, and failing handlers."""

import logging

from helpdesk import events
from helpdesk.events import Actor, EventBus

ACTOR = Actor("agent", 7)


def status(new="open"):
    return events.StatusChanged(actor=ACTOR, customer_id=1, conversation_id=2, old="new",
                                new=new)


def priority():
    return events.PriorityChanged(actor=ACTOR, customer_id=1, conversation_id=2, old="low",
                                  new="high")


def identity(event_type):
    return event_type(actor=ACTOR, customer_id=1, kind="email", value="ada@example.com")


def recorder(calls, name):
    return lambda event: calls.append((name, event.timeline_type))


def test_events_go_out_in_recorded_order_own_class_first_then_bases():
    bus, calls = EventBus(), []
    bus.subscribe(events.DomainEvent, recorder(calls, "any-1"))
    bus.subscribe(events.StatusChanged, recorder(calls, "status"))
    bus.subscribe(events.FieldChanged, recorder(calls, "field"))
    bus.subscribe(events.DomainEvent, recorder(calls, "any-2"))
    bus.publish([status(), priority()])
    assert calls == [
        ("status", "conversation.status_changed"), ("field", "conversation.status_changed"),
        ("any-1", "conversation.status_changed"), ("any-2", "conversation.status_changed"),
        ("field", "conversation.priority_changed"),
        ("any-1", "conversation.priority_changed"), ("any-2", "conversation.priority_changed"),
    ]


def test_a_handler_for_one_event_does_not_receive_its_siblings():
    bus, calls = EventBus(), []
    bus.subscribe(events.IdentityAdded, recorder(calls, "added"))
    bus.subscribe(events.StatusChanged, recorder(calls, "status"))
    bus.publish([identity(events.IdentityRemoved), priority(), identity(events.IdentityAdded)])
    assert calls == [("added", "identity.added")]


def test_a_failing_handler_is_logged_and_the_others_still_run(caplog):
    bus, calls = EventBus(), []

    def broken(_event):
        raise RuntimeError("socket down")

    bus.subscribe(events.StatusChanged, broken)
    bus.subscribe(events.StatusChanged, recorder(calls, "webhook"))
    with caplog.at_level(logging.ERROR, logger="helpdesk.events"):
        bus.publish([status("pending"), status("solved")])
    assert calls == [("webhook", "conversation.status_changed")] * 2
    assert [r.exc_info[1].args[0] for r in caplog.records] == ["socket down"] * 2


def batch_recorder(calls, name):
    return lambda batch: calls.append((name, [e.timeline_type for e in batch]))


def test_a_batch_handler_gets_the_commits_events_of_its_classes_once_after_the_others():
    bus, calls = EventBus(), []
    bus.subscribe_batch((events.StatusChanged, events.IdentityAdded), batch_recorder(calls, "b"))
    bus.subscribe(events.DomainEvent, recorder(calls, "any"))
    bus.subscribe_batch((events.CustomerCreated,), batch_recorder(calls, "none of them"))
    bus.publish([status(), priority(), identity(events.IdentityAdded), status()])
    assert calls == [
        ("any", "conversation.status_changed"), ("any", "conversation.priority_changed"),
        ("any", "identity.added"), ("any", "conversation.status_changed"),
        ("b", ["conversation.status_changed", "identity.added", "conversation.status_changed"]),
    ]


def test_a_failing_batch_handler_is_logged_and_the_next_one_still_runs(caplog):
    bus, calls = EventBus(), []

    def broken(_batch):
        raise RuntimeError("mail server down")

    bus.subscribe_batch((events.StatusChanged,), broken)
    bus.subscribe_batch((events.StatusChanged,), batch_recorder(calls, "sla"))
    with caplog.at_level(logging.ERROR, logger="helpdesk.events"):
        bus.publish([status("pending"), status("solved")])
    assert calls == [("sla", ["conversation.status_changed"] * 2)]
    assert [r.getMessage().endswith("on 2 events") for r in caplog.records] == [True]
