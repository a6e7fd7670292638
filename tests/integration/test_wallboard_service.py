"""The wallboard's figures, per queue, on a hand-built helpdesk (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import CallEventKind, Channel, ConversationStatus, Owner, Presence, Role
from helpdesk.orm import clock_at
from helpdesk.services import calls, conversations, queues, sla_settings, staff, wallboard
from helpdesk.services.calls import CallEventIn
from helpdesk.services.conversations import NewMessage

NOW = datetime(2030, 3, 5, 10, 0, tzinfo=UTC)  # a Tuesday


def minutes_ago(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


@pytest.fixture
def helpdesk(app, make):
    """Billing: four agents (one at capacity) and contacts in every state. Returns: one
    waiting, one pending. Handoffs: a chat the assistant handed over. Phone: calls on hold,
    missed today and yesterday. Sales: an SLA, answers in time, late, yesterday, not yet.
    Archive: nothing."""
    agents = {"free": make.user(Role.AGENT), "busy": make.user(Role.AGENT, capacity={
        "chat": 1, "email": 0}), "away": make.user(Role.AGENT), "offline": make.user(Role.AGENT)}
    billing = make.queue("Billing", member_ids=[a.id for a in agents.values()])
    returns = make.queue("Returns", member_ids=[agents["free"].id])
    handoffs, phone = make.queue("Handoffs"), make.queue("Phone")
    make.queue("Archive")
    with app.app_context(), unit_of_work() as uow:
        for name, presence in [("free", Presence.ONLINE), ("busy", Presence.ONLINE),
                               ("away", Presence.AWAY)]:
            staff.set_presence(uow, SYSTEM, agents[name].id, presence)
    _opened(make, billing.id, Channel.EMAIL, 20)
    _opened(make, billing.id, Channel.CHAT, 10)
    _opened(make, billing.id, Channel.CHAT, 3)
    _opened(make, billing.id, Channel.API, 1)  # not a channel Billing lists
    _opened(make, returns.id, Channel.EMAIL, 45)
    not_waiting = {
        "taken": _opened(make, billing.id, Channel.CHAT, 60),
        "solved": _opened(make, billing.id, Channel.EMAIL, 90),
        "with the assistant": _opened(make, billing.id, Channel.CHAT, 120, owner=Owner.BOT),
        "in no queue": _opened(make, None, Channel.EMAIL, 150),
        "pending": _opened(make, returns.id, Channel.EMAIL, 240),  # the customer's turn
    }
    handed_over = _opened(make, handoffs.id, Channel.CHAT, 120, owner=Owner.BOT)
    with app.app_context(), unit_of_work() as uow, clock_at(NOW):
        conversations.assign(uow, SYSTEM, not_waiting["taken"], assignee_id=agents["busy"].id)
        conversations.change_status(uow, SYSTEM, not_waiting["solved"],
                                    ConversationStatus.SOLVED)
        conversations.change_status(uow, SYSTEM, not_waiting["pending"],
                                    ConversationStatus.PENDING)
    with app.app_context(), unit_of_work() as uow, clock_at(minutes_ago(5)):
        conversations.hand_over(uow, SYSTEM, handed_over, owner=Owner.QUEUE,
                                reason="asked_for_human")
    _call(app, phone.id, "on hold", [(CallEventKind.QUEUED, 2)])
    _call(app, phone.id, "hung up", [(CallEventKind.QUEUED, 33), (CallEventKind.ENDED, 30)])
    _call(app, phone.id, "last night", [(CallEventKind.QUEUED, 14 * 60),
                                        (CallEventKind.MISSED, 13 * 60)])
    _answered_within_sla(app, make, agents["free"].id)
    return {"billing": billing.id, "agents": agents}


def _answered_within_sla(app, make, agent_id: int) -> None:
    """Sales answers first within 30 minutes: twice in time today, once late, once in time
    yesterday; one contact is not answered yet."""
    with app.app_context(), unit_of_work() as uow:
        policy = sla_settings.create_policy(uow, SYSTEM, name="Standard", targets={
            "normal": {"first_response": 30}})
    sales = make.queue("Sales")
    with app.app_context(), unit_of_work() as uow:
        queues.update_queue(uow, SYSTEM, sales.id, sla_policy_id=policy.id)
    for opened, answered in [(60, 50), (120, 60), (180, 160), (24 * 60, 24 * 60 - 10),
                             (10, None)]:
        conversation_id = _opened(make, sales.id, Channel.EMAIL, opened)
        if answered is not None:
            with app.app_context(), unit_of_work() as uow, clock_at(minutes_ago(answered)):
                conversations.post_message(uow, conversation_id, NewMessage(
                    "We are on it", Actor("agent", agent_id)))


def _opened(make, queue_id: int | None, channel: Channel, minutes: int,
            owner: Owner = Owner.QUEUE) -> int:
    customer = make.customer()
    with make.app.app_context(), unit_of_work() as uow, clock_at(minutes_ago(minutes)):
        return conversations.open_conversation(
            uow, Actor("customer", customer.id), customer_id=customer.id, channel=channel,
            queue_id=queue_id, owner=owner, subject=f"{channel.value} {minutes} min ago").id


def _call(app, queue_id: int, call_id: str, steps: list[tuple[CallEventKind, int]]) -> None:
    """A call's CTI events, each ``minutes`` before NOW."""
    for kind, minutes in steps:
        with app.app_context(), unit_of_work() as uow, clock_at(minutes_ago(minutes)):
            calls.ingest(uow, CallEventIn(call_id=call_id, kind=kind, caller="+33612345678",
                                          occurred_at=minutes_ago(minutes), queue=queue_id))


@pytest.fixture
def boards(app, helpdesk) -> dict[str, wallboard.QueueBoard]:
    with app.app_context():
        return {board.name: board for board in wallboard.snapshot(db.session, NOW)}


def test_contacts_waiting_by_channel_and_since_when(boards):
    assert list(boards) == ["Archive", "Billing", "Handoffs", "Phone", "Returns", "Sales"]
    billing = boards["Billing"]
    assert billing.waiting == {"chat": 2, "email": 1, "api": 1}  # the queue's channels first
    assert list(billing.waiting) == ["chat", "email", "api"]
    assert billing.waiting_total == 4
    assert boards["Returns"].waiting == {"chat": 0, "email": 1}  # not the pending one
    assert (boards["Archive"].waiting, boards["Archive"].waiting_total) == (
        {"chat": 0, "email": 0}, 0)
    # The longest wait runs from when the oldest contact started waiting.
    assert billing.oldest_waiting_since == minutes_ago(20)
    assert billing.longest_wait_seconds == 20 * 60
    assert boards["Returns"].longest_wait_seconds == 45 * 60
    assert boards["Handoffs"].longest_wait_seconds == 5 * 60  # since the handoff
    assert (boards["Archive"].oldest_waiting_since, boards["Archive"].longest_wait_seconds) == (
        None, 0)


def test_agents_by_status_among_the_queues_members(boards):
    assert boards["Billing"].agents == {"online": 1, "busy": 1, "away": 1, "offline": 1}
    assert boards["Returns"].agents == {"online": 1, "busy": 0, "away": 0, "offline": 0}
    assert boards["Archive"].agents == {"online": 0, "busy": 0, "away": 0, "offline": 0}


def test_calls_on_hold_abandoned_today_and_their_callbacks(boards):
    phone = boards["Phone"]
    assert phone.calls_waiting == 1
    assert phone.abandoned_calls_today == 1  # hung up 30 min ago; last night's is yesterday
    assert phone.waiting == {"chat": 0, "email": 0, "phone": 2}  # both missed: call back
    assert boards["Billing"].abandoned_calls_today == 0


def test_todays_first_responses_within_sla(boards):
    sales = boards["Sales"]
    assert (sales.answered_within_sla, sales.answered_today) == (2, 3)
    assert sales.within_sla_percent == 67
    archive = boards["Archive"]  # no answer yet: no share
    assert (archive.answered_today, archive.within_sla_percent) == (0, None)
