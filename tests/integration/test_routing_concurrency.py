"""Two OS processes route the same waiting conversations at once, as two app processes or
workers do: no conversation is assigned twice, nobody goes past capacity, and together
they fill exactly the capacity there is (PostgreSQL: row locks; SQLite: its write lock)."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpdesk import create_app
from helpdesk.events import SYSTEM
from helpdesk.extensions import unit_of_work
from helpdesk.models import Channel, Conversation, Presence, TimelineEvent
from helpdesk.services import queues, routing, staff
from tests.fakes import FakeEmbedder

PROCESSES = 2
START_TIMEOUT = 120.0


def route_in_own_process(database_url: str, instance: str, queue_id: int,
                         start: multiprocessing.synchronize.Barrier,
                         results: multiprocessing.Queue) -> None:
    """A fresh app of its own (as another server process would be), routing one queue."""
    app = create_app({"database_url": database_url, "instance_path": instance,
                      "secret_key": "test-secret", "testing": True, "log_level": "WARNING"},
                     embedder_factory=FakeEmbedder)
    with app.app_context(), unit_of_work() as uow:
        start.wait(START_TIMEOUT)
        results.put(routing.route_queue(uow, queue_id))


def waiting_queue(make, uow, agents: int, capacity: int, chats: int) -> tuple[int, list[int]]:
    """Online agents and waiting chats in a queue that routes manually until the end, so
    nothing is routed before the processes start."""
    team = [make.user(capacity={"chat": capacity}) for _ in range(agents)]
    queue = queues.create_queue(uow, SYSTEM, name="Race", channels=["chat"],
                                member_ids=[u.id for u in team])
    for user in team:
        staff.set_presence(uow, SYSTEM, user.id, Presence.ONLINE)
    for _ in range(chats):
        make.conversation(channel=Channel.CHAT, queue_id=queue.id)
    queues.update_queue(uow, SYSTEM, queue.id, routing_strategy="least_loaded")
    return queue.id, [u.id for u in team]


def race(database_url: str, folder: Path, queue_id: int) -> list[list[int]]:
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    processes = [context.Process(target=route_in_own_process, args=(
        database_url, str(folder / f"process-{n}"), queue_id, start, results))
        for n in range(PROCESSES)]
    for process in processes:
        process.start()
    assigned = [results.get(timeout=START_TIMEOUT * 2) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    return assigned


@pytest.mark.parametrize(("agents", "capacity", "chats"), [(1, 4, 20), (10, 3, 50)],
                         ids=["one agent", "ten agents"])
def test_two_processes_never_assign_twice_nor_past_capacity(make, uow, migrated_url, tmp_path,
                                                            agents, capacity, chats):
    queue_id, team = waiting_queue(make, uow, agents, capacity, chats)
    first, second = race(migrated_url, tmp_path, queue_id)
    assert set(first).isdisjoint(second)
    assert len(first) + len(second) == agents * capacity  # all the room, nothing more
    loads = dict(uow.session.execute(
        select(Conversation.assignee_id, func.count()).where(Conversation.queue_id == queue_id,
                                                             Conversation.assignee_id.in_(team))
        .group_by(Conversation.assignee_id)).all())
    assert loads == dict.fromkeys(team, capacity)
    decisions = Counter(uow.session.execute(
        select(TimelineEvent.conversation_id, TimelineEvent.type).where(
            TimelineEvent.type.in_(["conversation.assigned", "conversation.routed"]))).all())
    assert max(decisions.values()) == 1  # one assignment, one explanation each at most
