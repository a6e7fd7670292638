"""SLA clocks on real conversations: the hard cases (night, weekend, holiday, daylight saving
time, pause and resume, next response), alerts and their actions firing once, settings
changes picked up by the worker, and the wallboard's figure."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import (
    Channel,
    ConversationStatus,
    Notification,
    Owner,
    Priority,
    Role,
    SlaBreach,
    SlaMetric,
    TimelineEvent,
)
from helpdesk.orm import clock_at
from helpdesk.periodic import periodic_jobs
from helpdesk.services import conversations, queues, sla, sla_settings
from helpdesk.services.conversations import NewMessage
from helpdesk.sla_triggers import check_clocks

PARIS = ZoneInfo("Europe/Paris")
OFFICE = {day: ["09:00-12:30", "13:30-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
EASTER_MONDAY = date(2025, 4, 21)
# Minutes of business time per priority: first response, next response, resolution.
TARGETS = {"low": {"first_response": 240, "resolution": 2400},
           "normal": {"first_response": 60, "next_response": 120, "resolution": 480},
           "high": {"first_response": 30, "next_response": 60, "resolution": 240},
           "urgent": {"first_response": 15, "next_response": 30, "resolution": 120}}


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@dataclass
class Desk:
    """A queue with business hours in Paris and a policy, an agent, a supervisor."""

    app: object
    queue_id: int
    escalation_id: int
    policy_id: int
    calendar_id: int
    agent: Actor
    supervisor_id: int
    customer_id: int

    def open(self, at: datetime, *, owner: Owner = Owner.QUEUE,
             priority: Priority = Priority.NORMAL) -> int:
        with clock_at(at), self.app.app_context(), unit_of_work() as uow:
            customer = Actor("customer", self.customer_id)
            return conversations.open_conversation(
                uow, customer, customer_id=self.customer_id, channel=Channel.EMAIL,
                subject="Where is my parcel?", queue_id=self.queue_id, owner=owner,
                priority=priority, first_message=NewMessage(body="Hello", author=customer)).id

    def reply(self, conversation_id: int, at: datetime) -> None:
        self._post(conversation_id, at, NewMessage(body="On it", author=self.agent))

    def customer_writes(self, conversation_id: int, at: datetime) -> None:
        self._post(conversation_id, at,
                   NewMessage(body="Any news?", author=Actor("customer", self.customer_id)))

    def status(self, conversation_id: int, at: datetime, status: ConversationStatus) -> None:
        with clock_at(at), self.app.app_context(), unit_of_work() as uow:
            conversations.change_status(uow, self.agent, conversation_id, status)

    def clock(self, conversation_id: int, now: datetime) -> sla.SlaClock | None:
        with self.app.app_context():
            return sla.clock(db.session, conversation_id, now)

    def check(self, now: datetime) -> None:
        with clock_at(now), self.app.app_context():
            check_clocks(now)

    def _post(self, conversation_id: int, at: datetime, message: NewMessage) -> None:
        with clock_at(at), self.app.app_context(), unit_of_work() as uow:
            conversations.post_message(uow, conversation_id, message)


@pytest.fixture
def desk(app, make) -> Desk:
    agent = make.user(Role.AGENT)
    supervisor = make.user(Role.SUPERVISOR)
    queue = make.queue("Support", member_ids=[agent.id, supervisor.id])
    escalation = make.queue("Escalations")
    with app.app_context(), unit_of_work() as uow:
        calendar = sla_settings.create_calendar(
            uow, SYSTEM, name="Paris office", timezone="Europe/Paris", hours=OFFICE,
            holidays=[(EASTER_MONDAY, "Lundi de Pâques")])
        policy = sla_settings.create_policy(
            uow, SYSTEM, name="Standard", calendar_id=calendar.id, targets=TARGETS,
            escalation_queue_id=escalation.id)
        queues.update_queue(uow, SYSTEM, queue.id, sla_policy_id=policy.id)
        queues.update_queue(uow, SYSTEM, escalation.id, sla_policy_id=policy.id)
        ids = calendar.id, policy.id
    return Desk(app, queue.id, escalation.id, ids[1], ids[0], Actor("agent", agent.id),
                supervisor.id, make.customer().id)


def set_policy(app, policy_id: int, **fields) -> None:
    with app.app_context(), unit_of_work() as uow:
        sla_settings.update_policy(uow, SYSTEM, policy_id, **fields)


# --- the hard cases -------------------------------------------------------------------------

def test_opened_at_night_the_clock_starts_at_the_next_opening(desk):
    conversation = desk.open(paris(2025, 3, 4, 23, 40))  # Tuesday night
    clock = desk.clock(conversation, paris(2025, 3, 5, 6, 0))
    assert clock.policy == "Standard" and clock.calendar == "Paris office"
    first = clock.first_response
    assert (first.state, first.due_at) == ("running", paris(2025, 3, 5, 10, 0))
    assert first.remaining_seconds == 3600  # nothing counted before 09:00
    assert clock.resolution.due_at == paris(2025, 3, 5, 18, 0)  # 8 business hours
    assert clock.next_response is None


def test_opened_on_a_weekend_the_clock_starts_on_monday(desk):
    conversation = desk.open(paris(2025, 3, 8, 14, 0))  # Saturday
    clock = desk.clock(conversation, paris(2025, 3, 9, 12, 0))
    assert clock.first_response.due_at == paris(2025, 3, 10, 10, 0)


def test_opened_on_a_holiday_the_clock_starts_the_next_working_day(desk):
    conversation = desk.open(paris(2025, 4, 21, 10, 0))  # Easter Monday, closed
    assert desk.clock(conversation, paris(2025, 4, 21, 11, 0)).first_response.due_at == \
        paris(2025, 4, 22, 10, 0)


def test_across_the_spring_and_autumn_changes_of_time(desk):
    spring = desk.open(paris(2025, 3, 28, 17, 30))  # Friday, CET
    due = desk.clock(spring, paris(2025, 3, 28, 17, 30)).first_response.due_at
    assert due == paris(2025, 3, 31, 9, 30) == datetime(2025, 3, 31, 7, 30, tzinfo=UTC)
    autumn = desk.open(paris(2025, 10, 24, 17, 30))  # Friday, CEST
    due = desk.clock(autumn, paris(2025, 10, 24, 17, 30)).first_response.due_at
    assert due == paris(2025, 10, 27, 9, 30) == datetime(2025, 10, 27, 8, 30, tzinfo=UTC)


def test_pending_pauses_the_clocks_and_the_customer_answering_resumes_them(desk):
    conversation = desk.open(paris(2025, 3, 4, 9, 0))  # Tuesday
    desk.reply(conversation, paris(2025, 3, 4, 9, 30))
    desk.status(conversation, paris(2025, 3, 4, 10, 0), ConversationStatus.PENDING)

    paused = desk.clock(conversation, paris(2025, 3, 6, 12, 0))
    assert paused.paused
    assert paused.first_response.state == "met"
    resolution = paused.resolution
    assert (resolution.state, resolution.due_at) == ("paused", None)
    assert resolution.remaining_seconds == 7 * 3600  # 1 of 8 hours used before the pause

    desk.customer_writes(conversation, paris(2025, 3, 6, 16, 0))  # Thursday: reopens it
    running = desk.clock(conversation, paris(2025, 3, 6, 16, 0))
    assert not running.paused
    # 7 hours left: 2 on Thursday, 3.5 + 1.5 on Friday.
    assert running.resolution.due_at == paris(2025, 3, 7, 15, 0)
    assert running.next_response.due_at == paris(2025, 3, 6, 18, 0)


def test_on_hold_does_not_pause_when_the_policy_says_so(desk):
    set_policy(desk.app, desk.policy_id, pause_statuses=["pending"])
    conversation = desk.open(paris(2025, 3, 4, 9, 0))
    desk.status(conversation, paris(2025, 3, 4, 10, 0), ConversationStatus.ON_HOLD)
    clock = desk.clock(conversation, paris(2025, 3, 4, 11, 0))
    assert clock.resolution.state == "running"
    assert clock.resolution.due_at == paris(2025, 3, 4, 18, 0)


def test_the_next_response_clock_runs_from_the_customer_message_to_the_agent_reply(desk):
    conversation = desk.open(paris(2025, 3, 4, 9, 0))
    desk.reply(conversation, paris(2025, 3, 4, 9, 20))
    assert desk.clock(conversation, paris(2025, 3, 4, 9, 30)).next_response is None
    desk.customer_writes(conversation, paris(2025, 3, 4, 11, 0))
    desk.customer_writes(conversation, paris(2025, 3, 4, 11, 30))  # still the same cycle
    waiting = desk.clock(conversation, paris(2025, 3, 4, 12, 0)).next_response
    assert (waiting.state, waiting.due_at) == ("running", paris(2025, 3, 4, 14, 0))
    desk.reply(conversation, paris(2025, 3, 4, 13, 50))
    answered = desk.clock(conversation, paris(2025, 3, 4, 15, 0)).next_response
    assert (answered.state, answered.met_at) == ("met", paris(2025, 3, 4, 13, 50))


def test_a_target_met_late_is_recorded_as_a_breach_without_actions(desk):
    set_policy(desk.app, desk.policy_id, breach_actions=["raise_priority"])
    conversation = desk.open(paris(2025, 3, 4, 9, 0))
    desk.reply(conversation, paris(2025, 3, 4, 10, 30))  # due 10:00, before any worker round
    with desk.app.app_context():
        breach = db.session.scalars(select(SlaBreach)).one()
        assert (breach.metric, breach.due_at) == (SlaMetric.FIRST_RESPONSE, paris(2025, 3, 4, 10))
        assert db.session.get(conversations.Conversation, conversation).priority == \
            Priority.NORMAL
    assert desk.clock(conversation, paris(2025, 3, 4, 11, 0)).first_response.state == "breached"


def test_the_assistant_owning_a_chat_does_not_count(desk):
    conversation = desk.open(paris(2025, 3, 4, 9, 0), owner=Owner.BOT)
    assert desk.clock(conversation, paris(2025, 3, 4, 9, 10)).first_response.state == "paused"
    with clock_at(paris(2025, 3, 4, 9, 40)), desk.app.app_context(), unit_of_work() as uow:
        conversations.hand_over(uow, SYSTEM, conversation, owner=Owner.QUEUE, reason="human")
    assert desk.clock(conversation, paris(2025, 3, 4, 9, 45)).first_response.due_at == \
        paris(2025, 3, 4, 10, 40)


def test_a_priority_change_retargets_and_no_policy_means_no_clock(desk, make):
    conversation = desk.open(paris(2025, 3, 4, 9, 0))
    with clock_at(paris(2025, 3, 4, 9, 5)), desk.app.app_context(), unit_of_work() as uow:
        conversations.set_priority(uow, desk.agent, conversation, Priority.URGENT)
    assert desk.clock(conversation, paris(2025, 3, 4, 9, 5)).first_response.due_at == \
        paris(2025, 3, 4, 9, 15)
    elsewhere = make.queue("No policy")
    with desk.app.app_context(), unit_of_work() as uow:
        conversations.assign(uow, desk.agent, conversation, assignee_id=None,
                             queue_id=elsewhere.id)
    assert desk.clock(conversation, paris(2025, 3, 4, 9, 5)) is None


# --- alerts and actions -------------------------------------------------------------------------

def test_a_warning_then_a_breach_fire_once_each_and_their_actions_run_once(desk):
    set_policy(desk.app, desk.policy_id, warning_minutes=15, warning_actions=["notify"],
               breach_actions=["notify", "raise_priority", "move_queue"])
    conversation = desk.open(paris(2025, 3, 4, 9, 0))  # first response due 10:00

    desk.check(paris(2025, 3, 4, 9, 40))
    assert timeline_types(desk.app, conversation) == []
    for _ in range(2):
        desk.check(paris(2025, 3, 4, 9, 46))
    assert timeline_types(desk.app, conversation) == ["sla.warning"]
    assert notices(desk.app) == [("sla_warning", desk.supervisor_id)]
    assert desk.clock(conversation, paris(2025, 3, 4, 9, 50)).first_response.state == "at_risk"

    for _ in range(3):
        desk.check(paris(2025, 3, 4, 10, 1))
    assert timeline_types(desk.app, conversation) == ["sla.warning", "sla.breached"]
    with desk.app.app_context():
        moved = db.session.get(conversations.Conversation, conversation)
        assert (moved.priority, moved.queue_id) == (Priority.HIGH, desk.escalation_id)
        assert db.session.scalar(select(func.count()).select_from(SlaBreach)) == 1
    assert notices(desk.app) == [("sla_warning", desk.supervisor_id),
                                 ("sla_breach", desk.supervisor_id)]
    # Re-targeted to high (30 minutes: due 09:30), it stays breached and fires nothing more.
    desk.check(paris(2025, 3, 4, 10, 30))
    assert timeline_types(desk.app, conversation).count("sla.breached") == 1
    clock = desk.clock(conversation, paris(2025, 3, 4, 10, 30))
    assert clock.first_response.state == "breached" and clock.breached


def test_the_assignee_is_notified_with_the_supervisors(desk):
    set_policy(desk.app, desk.policy_id, breach_actions=["notify"])
    conversation = desk.open(paris(2025, 3, 4, 9, 0))
    with desk.app.app_context(), unit_of_work() as uow:
        conversations.assign(uow, desk.agent, conversation, assignee_id=desk.agent.id)
    desk.check(paris(2025, 3, 4, 10, 0))
    assert sorted(notices(desk.app)) == sorted([("sla_breach", desk.supervisor_id),
                                                ("sla_breach", desk.agent.id)])
    with desk.app.app_context():
        text = db.session.scalars(select(Notification.text)).first()
    assert text == (f"SLA breached: first response of #{conversation} was due "
                    "2025-03-04 10:00 CET: Where is my parcel?")


def test_a_paused_clock_fires_nothing(desk):
    set_policy(desk.app, desk.policy_id, breach_actions=["notify"])
    conversation = desk.open(paris(2025, 3, 4, 9, 0))
    desk.status(conversation, paris(2025, 3, 4, 9, 30), ConversationStatus.PENDING)
    desk.check(paris(2025, 3, 5, 12, 0))
    assert notices(desk.app) == []


# --- settings changes, the wallboard ------------------------------------------------------------

def test_the_worker_recomputes_the_clocks_when_settings_change(desk):
    conversation = desk.open(paris(2025, 3, 4, 9, 0))
    targets = {**TARGETS, "normal": {"first_response": 120}}
    with clock_at(paris(2025, 3, 4, 9, 10)):
        set_policy(desk.app, desk.policy_id, targets=targets)
    desk.check(paris(2025, 3, 4, 9, 10))
    clock = desk.clock(conversation, paris(2025, 3, 4, 9, 10))
    assert clock.first_response.due_at == paris(2025, 3, 4, 11, 0)
    assert (clock.next_response, clock.resolution) == (None, None)

    with clock_at(paris(2025, 3, 4, 9, 20)), desk.app.app_context(), unit_of_work() as uow:
        queues.update_queue(uow, SYSTEM, desk.queue_id, sla_policy_id=None)
    desk.check(paris(2025, 3, 4, 9, 20))
    assert desk.clock(conversation, paris(2025, 3, 4, 9, 20)) is None


def test_within_sla_today_counts_todays_first_responses_in_the_queue_time_zone(desk):
    yesterday = desk.open(paris(2025, 3, 3, 16, 0))
    desk.reply(yesterday, paris(2025, 3, 3, 16, 10))
    in_time, late = desk.open(paris(2025, 3, 4, 9, 0)), desk.open(paris(2025, 3, 4, 10, 0))
    desk.open(paris(2025, 3, 4, 11, 0))  # not answered yet: not counted
    desk.reply(in_time, paris(2025, 3, 4, 9, 30))
    desk.reply(late, paris(2025, 3, 4, 11, 30))
    with desk.app.app_context():
        # 00:30 in Paris is still the previous day in UTC: Paris decides what today is.
        assert sla.within_sla_today(db.session, desk.queue_id, paris(2025, 3, 4, 12, 0)) == (1, 2)
        assert sla.within_sla_today(db.session, desk.queue_id, paris(2025, 3, 5, 0, 30)) == (0, 0)


def timeline_types(app, conversation_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(TimelineEvent.type).where(TimelineEvent.conversation_id == conversation_id,
                                             TimelineEvent.type.like("sla.%"))
            .order_by(TimelineEvent.id)))


def notices(app) -> list[tuple[str, int]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(Notification.kind, Notification.user_id).order_by(Notification.id))]


def test_breach_listing_filters_by_queue_and_time(desk):
    conversation = desk.open(paris(2025, 3, 4, 9, 0))
    desk.check(paris(2025, 3, 4, 10, 5))
    with desk.app.app_context():
        found = sla.breaches(db.session, queue_id=desk.queue_id)
        assert [b.conversation_id for b in found.items] == [conversation]
        assert sla.breaches(db.session, since=paris(2025, 3, 4, 11, 0)).items == []
        assert sla.breaches(db.session, queue_id=desk.escalation_id).total == 0


def test_two_workers_at_once_fire_a_breach_once(desk):
    set_policy(desk.app, desk.policy_id, breach_actions=["notify", "raise_priority"])
    conversation = desk.open(paris(2025, 3, 4, 9, 0))
    start = threading.Barrier(2)

    def worker() -> None:
        start.wait()
        desk.check(paris(2025, 3, 4, 10, 5))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert timeline_types(desk.app, conversation) == ["sla.breached"]
    assert notices(desk.app) == [("sla_breach", desk.supervisor_id)]
    with desk.app.app_context():
        assert db.session.get(conversations.Conversation, conversation).priority == Priority.HIGH


def test_the_worker_runs_the_sla_job(app):
    assert "sla clocks" in [job.name for job in periodic_jobs(app)]
