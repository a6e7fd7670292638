"""Queues and their members against a real database (SQLite and PostgreSQL)."""

import pytest
from sqlalchemy import select

from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import SYSTEM
from helpdesk.models import QueueMembership, RoutingStrategy
from helpdesk.services import queues


def members(uow, queue_id):
    return list(uow.session.scalars(select(QueueMembership.user_id)
                                    .where(QueueMembership.queue_id == queue_id)
                                    .order_by(QueueMembership.user_id)))


def test_create_queue_checks_and_normalizes_its_fields(uow):
    queue = queues.create_queue(uow, SYSTEM, name="  Billing ", channels=["email", "chat", "email"],
                                routing_strategy="round_robin")
    assert (queue.name, queue.channels, queue.routing_strategy) == (
        "Billing", ["chat", "email"], RoutingStrategy.ROUND_ROBIN)


def test_queue_names_are_unique(uow):
    queues.create_queue(uow, SYSTEM, name="Billing")
    other = queues.create_queue(uow, SYSTEM, name="Returns")
    with pytest.raises(Conflict) as refused:
        queues.create_queue(uow, SYSTEM, name=" Billing")
    assert refused.value.field == "name"
    uow.rollback()
    with pytest.raises(Conflict):
        queues.update_queue(uow, SYSTEM, other.id, name="Billing")
    uow.rollback()
    assert queues.update_queue(uow, SYSTEM, other.id, name="Returns").name == "Returns"


def test_create_queue_refuses_bad_fields_naming_them(uow):
    for fields, field in [({"name": "  "}, "name"),
                          ({"name": "Q", "channels": ["chat", "fax"]}, "channels"),
                          ({"name": "Q", "routing_strategy": "random"}, "routing_strategy"),
                          ({"name": "Q", "colour": "blue"}, "colour")]:
        with pytest.raises(ValidationFailed) as refused:
            queues.create_queue(uow, SYSTEM, **fields)
        assert refused.value.field == field, fields


def test_member_set_is_replaced_and_a_removed_member_can_come_back(make, uow):
    ada, bob, cy = (make.user().id for _ in range(3))
    queue = queues.create_queue(uow, SYSTEM, name="Support", member_ids=[ada, bob])
    assert members(uow, queue.id) == sorted([ada, bob])
    queues.update_queue(uow, SYSTEM, queue.id, member_ids=[bob, cy])
    assert members(uow, queue.id) == sorted([bob, cy])
    queues.update_queue(uow, SYSTEM, queue.id, member_ids=[ada, ada, bob, cy])
    assert members(uow, queue.id) == sorted([ada, bob, cy])
    queues.update_queue(uow, SYSTEM, queue.id, member_ids=[])
    assert members(uow, queue.id) == []
    queues.update_queue(uow, SYSTEM, queue.id, member_ids=[ada])
    queues.update_queue(uow, SYSTEM, queue.id, description="Front line")
    assert members(uow, queue.id) == [ada]


def test_an_unknown_member_changes_nothing(make, uow):
    ada = make.user().id
    queue = queues.create_queue(uow, SYSTEM, name="Support", member_ids=[ada])
    with pytest.raises(NotFound) as missing:
        queues.update_queue(uow, SYSTEM, queue.id, member_ids=[4040])
    assert missing.value.field == "member_ids"
    uow.rollback()
    assert members(uow, queue.id) == [ada]
