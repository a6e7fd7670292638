"""Automation rules on both backends: event rules after commit, time rules with a controlled
clock, at most one run per occurrence, chains that cannot loop, failures kept on the run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from helpdesk.automation import engine, timed
from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.mail import intake
from helpdesk.models import (
    AuthorKind,
    Channel,
    Conversation,
    ConversationStatus,
    InboundSource,
    Message,
    Notification,
    OutboundEmail,
    Priority,
    Role,
    RuleRun,
    RuleTrigger,
    RunOutcome,
    TimelineEvent,
)
from helpdesk.orm import clock_at
from helpdesk.services import automation, conversations
from helpdesk.services.conversations import NewMessage
from helpdesk.services.email_intake import Source
from tests.factories import raw_email

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def admin(make):
    return make.user(Role.ADMIN, name="Ada Admin")


@pytest.fixture
def agent(make):
    return make.user(Role.AGENT, name="Bob Agent")


def run(app, service, *args, **kwargs):
    with app.app_context(), unit_of_work() as uow:
        return service(uow, *args, **kwargs)


def conversation(app, conversation_id) -> Conversation:
    with app.app_context():
        found = db.session.get(Conversation, conversation_id)
        found.tags  # noqa: B018  (loaded while the session is open)
        return found


def runs(app, rule_id) -> list[RuleRun]:
    with app.app_context():
        return list(db.session.scalars(select(RuleRun).where(RuleRun.rule_id == rule_id)))


def history(app, conversation_id, kind=None) -> list[TimelineEvent]:
    with app.app_context():
        query = select(TimelineEvent).where(TimelineEvent.conversation_id == conversation_id)
        if kind:
            query = query.where(TimelineEvent.type == kind)
        return list(db.session.scalars(query.order_by(TimelineEvent.id)))


def receive(app, subject, body="Hello", sender="ada@example.com") -> int:
    with app.app_context():
        return intake.ingest(raw_email(sender=sender, subject=subject, body=body),
                             Source(InboundSource.CLI)).conversation_id


def subject_contains(word):
    return {"all": [{"field": "subject", "op": "contains", "value": word}]}


def agent_actor(user):
    return Actor("agent", user.id)


# --- the examples ------------------------------------------------------------------

def test_email_with_remboursement_goes_to_billing_with_high_priority(app, make, admin):
    billing = make.queue("Billing")
    rule = make.rule(admin, name="Refunds to Billing", trigger="email_received",
                     conditions=subject_contains("remboursement"),
                     actions=[{"type": "set_queue", "queue_id": billing.id},
                              {"type": "set_priority", "priority": "high"}])

    refund = conversation(app, receive(app, "Demande de Remboursement"))
    other = conversation(app, receive(app, "Where is my parcel?"))

    assert (refund.queue_id, refund.priority) == (billing.id, Priority.HIGH)
    assert (other.queue_id, other.priority) == (None, Priority.NORMAL)
    [applied] = history(app, refund.id, "automation.applied")
    assert (applied.actor_kind, applied.actor_id) == ("automation", rule.id)
    assert applied.payload["rule_name"] == "Refunds to Billing"
    assert [a["type"] for a in applied.payload["applied"]] == ["set_queue", "set_priority"]
    [priority] = history(app, refund.id, "conversation.priority_changed")
    assert (priority.actor_kind, priority.actor_id) == ("automation", rule.id)
    assert [r.outcome for r in runs(app, rule.id)] == [RunOutcome.APPLIED]


def test_pending_for_three_days_is_solved_with_a_message(app, make, admin, agent):
    rule = make.rule(admin, name="Close the silent ones", trigger="pending_for",
                     delay_minutes=3 * 24 * 60,
                     actions=[{"type": "set_status", "status": "solved",
                               "message": "No news from you: we close this request."}])
    with clock_at(NOW - 6 * DAY):
        silent = make.conversation(subject="Broken lamp")
        recent = make.conversation(subject="Broken chair")
        run(app, conversations.assign, agent_actor(agent), silent.id, assignee_id=agent.id)
    with clock_at(NOW - 4 * DAY):
        run(app, conversations.change_status, agent_actor(agent), silent.id,
            ConversationStatus.PENDING)
    with clock_at(NOW - 2 * DAY):
        run(app, conversations.change_status, agent_actor(agent), recent.id,
            ConversationStatus.PENDING)

    with app.app_context():
        assert timed.run_due(unit_of_work, NOW) == 1

    assert conversation(app, silent.id).status == ConversationStatus.SOLVED
    assert conversation(app, recent.id).status == ConversationStatus.PENDING
    with app.app_context():
        last = db.session.scalars(select(Message).where(Message.conversation_id == silent.id)
                                  .order_by(Message.seq.desc())).first()
        mail = db.session.scalar(select(OutboundEmail).where(OutboundEmail.message_id == last.id))
    assert (last.author_kind, last.author_id, last.internal) == (AuthorKind.AGENT, agent.id,
                                                                 False)
    assert last.body == "No news from you: we close this request."
    assert mail is not None  # the customer gets it by email
    with app.app_context():
        assert timed.run_due(unit_of_work, NOW + DAY) == 1  # the other one's turn
    assert conversation(app, recent.id).status == ConversationStatus.SOLVED
    assert len(runs(app, rule.id)) == 2


# --- time rules ----------------------------------------------------------------------------

def test_the_periodic_job_run_twice_fires_once(app, make, admin):
    rule = make.rule(admin, trigger="unassigned_for", delay_minutes=30,
                     actions=[{"type": "add_tags", "tags": ["waiting"]}])
    with clock_at(NOW - timedelta(minutes=45)):
        waiting = make.conversation()
    with app.app_context():
        assert timed.run_due(unit_of_work, NOW) == 1
        assert timed.run_due(unit_of_work, NOW) == 0  # a restarted or second worker
        assert timed.run_due(unit_of_work, NOW + DAY) == 0
    assert len(runs(app, rule.id)) == 1
    assert conversation(app, waiting.id).tags == ["waiting"]


def test_a_second_worker_racing_for_the_same_occurrence_changes_nothing(app, make, admin,
                                                                        monkeypatch):
    rule = make.rule(admin, trigger="unassigned_for", delay_minutes=30,
                     actions=[{"type": "set_priority", "priority": "urgent"}])
    with clock_at(NOW - DAY):
        waiting = make.conversation()
    with app.app_context(), unit_of_work() as uow:
        [due] = timed.due_occurrences(uow.session, rule.id, RuleTrigger.UNASSIGNED_FOR, NOW)
    with app.app_context():
        assert engine.run_rule(unit_of_work, rule.id, due) is not None
        run(app, conversations.set_priority, Actor("system"), waiting.id, Priority.LOW)
        # The other worker checked before the first committed: only the unique key stops it.
        monkeypatch.setattr(engine, "_ran", lambda *_args: False)
        assert engine.run_rule(unit_of_work, rule.id, due) is None
    assert conversation(app, waiting.id).priority == Priority.LOW
    assert len(runs(app, rule.id)) == 1


def test_no_agent_reply_counts_from_the_first_unanswered_message(app, make, admin, agent):
    rule = make.rule(admin, trigger="no_agent_reply", delay_minutes=4 * 60,
                     actions=[{"type": "notify", "text": "Waiting for an answer",
                               "user_ids": [admin.id]}])
    with clock_at(NOW - timedelta(hours=10)):
        asked = make.conversation()
    with clock_at(NOW - timedelta(hours=9)):
        run(app, conversations.post_message, asked.id,
            NewMessage(body="On it", author=agent_actor(agent)))
    with clock_at(NOW - timedelta(hours=5)):
        first = run(app, conversations.post_message, asked.id,
                    NewMessage(body="Any news?", author=Actor("customer", asked.customer_id)))
    with clock_at(NOW - timedelta(hours=1)):
        run(app, conversations.post_message, asked.id,
            NewMessage(body="Hello?", author=Actor("customer", asked.customer_id)))

    with app.app_context():
        assert timed.run_due(unit_of_work, NOW - timedelta(hours=2)) == 0  # 3 h of wait
        assert timed.run_due(unit_of_work, NOW) == 1  # 5 h since "Any news?"
        notified = db.session.scalars(select(Notification.text).where(
            Notification.user_id == admin.id)).all()
    assert notified == ["Waiting for an answer"]
    assert [r.occurrence for r in runs(app, rule.id)] == [f"no_agent_reply:{first.id}"]


def test_time_rule_conditions_are_checked_at_each_look(app, make, admin):
    rule = make.rule(admin, trigger="unassigned_for", delay_minutes=10,
                     conditions={"all": [{"field": "priority", "op": "is", "value": "high"}]},
                     actions=[{"type": "add_tags", "tags": ["escalated"]}])
    with clock_at(NOW - DAY):
        waiting = make.conversation()
    with app.app_context():
        assert timed.run_due(unit_of_work, NOW) == 0
    run(app, conversations.set_priority, Actor("system"), waiting.id, Priority.HIGH)
    with app.app_context():
        assert timed.run_due(unit_of_work, NOW) == 1
    assert len(runs(app, rule.id)) == 1


# --- event rules ---------------------------------------------------------------------------

def test_conversation_opened_by_channel(app, make, admin):
    rule = make.rule(admin, trigger="conversation_opened",
                     conditions={"all": [{"field": "channel", "op": "is", "value": "chat"}]},
                     actions=[{"type": "add_tags", "tags": ["from-chat"]}])
    chat = make.conversation(channel=Channel.CHAT)
    email = make.conversation(channel=Channel.EMAIL)
    assert conversation(app, chat.id).tags == ["from-chat"]
    assert conversation(app, email.id).tags == []
    assert [r.occurrence for r in runs(app, rule.id)] == ["opened"]


def test_customer_message_status_priority_and_assignment_triggers(app, make, admin, agent):
    tagger = make.rule(admin, trigger="customer_message",
                       conditions={"all": [{"field": "body", "op": "contains",
                                            "value": "urgent"}]},
                       actions=[{"type": "set_priority", "priority": "urgent"}])
    on_urgent = make.rule(admin, trigger="priority_changed",
                          conditions={"all": [{"field": "priority", "op": "is",
                                               "value": "urgent"}]},
                          actions=[{"type": "assign", "agent_id": agent.id}])
    on_assigned = make.rule(admin, trigger="assigned",
                            actions=[{"type": "notify", "text": "Yours now", "assignee": True}])
    on_solved = make.rule(admin, trigger="status_changed",
                          conditions={"all": [{"field": "status", "op": "is",
                                               "value": "solved"}]},
                          actions=[{"type": "add_note", "body": "Solved: check the survey"}])
    chat = make.conversation(channel=Channel.CHAT, body="hello")
    run(app, conversations.post_message, chat.id,
        NewMessage(body="This is URGENT", author=Actor("customer", chat.customer_id)))

    found = conversation(app, chat.id)
    assert (found.priority, found.assignee_id) == (Priority.URGENT, agent.id)
    with app.app_context():
        assert db.session.scalar(select(Notification.text).where(
            Notification.user_id == agent.id)) == "Yours now"
    run(app, conversations.change_status, agent_actor(agent), chat.id, ConversationStatus.SOLVED)
    with app.app_context():
        note = db.session.scalars(select(Message).where(Message.conversation_id == chat.id)
                                  .order_by(Message.seq.desc())).first()
    assert (note.body, note.internal, note.author_id) == ("Solved: check the survey", True,
                                                         agent.id)
    assert [len(runs(app, r.id)) for r in (tagger, on_urgent, on_assigned, on_solved)] == \
        [1, 1, 1, 1]


def test_rules_run_in_order_and_see_the_changes_of_those_before(app, make, admin):
    billing = make.queue("Billing")
    make.rule(admin, name="second", trigger="conversation_opened", position=2,
              conditions={"all": [{"field": "queue", "op": "is", "value": billing.id}]},
              actions=[{"type": "add_tags", "tags": ["billing"]}])
    make.rule(admin, name="first", trigger="conversation_opened", position=1,
              actions=[{"type": "set_queue", "queue_id": billing.id}])
    make.rule(admin, name="off", trigger="conversation_opened", active=False,
              actions=[{"type": "add_tags", "tags": ["never"]}])
    opened = make.conversation()
    assert conversation(app, opened.id).tags == ["billing"]


# --- safety --------------------------------------------------------------------------------

def test_two_rules_undoing_each_other_do_not_loop(app, make, admin, agent):
    reopen = make.rule(admin, trigger="status_changed",
                       conditions={"all": [{"field": "status", "op": "is", "value": "pending"}]},
                       actions=[{"type": "set_status", "status": "open"}])
    repend = make.rule(admin, trigger="status_changed",
                       conditions={"all": [{"field": "status", "op": "is", "value": "open"}]},
                       actions=[{"type": "set_status", "status": "pending"}])
    asked = make.conversation()
    run(app, conversations.assign, agent_actor(agent), asked.id, assignee_id=agent.id)
    # Assigning opened it: "repend" fired, then "reopen" on its change; the chain stopped.
    assert conversation(app, asked.id).status == ConversationStatus.OPEN
    assert (len(runs(app, repend.id)), len(runs(app, reopen.id))) == (1, 1)


def test_a_chain_stops_at_its_maximum_length(app, make, admin, agent, monkeypatch):
    monkeypatch.setattr(engine, "MAX_CHAIN", 2)
    first = make.rule(admin, trigger="priority_changed",
                      conditions={"all": [{"field": "priority", "op": "is", "value": "high"}]},
                      actions=[{"type": "set_status", "status": "pending"}])
    second = make.rule(admin, trigger="status_changed",
                       actions=[{"type": "assign", "agent_id": agent.id}])
    third = make.rule(admin, trigger="assigned", actions=[{"type": "add_tags", "tags": ["x"]}])
    asked = make.conversation()
    run(app, conversations.set_priority, Actor("system"), asked.id, Priority.HIGH)
    found = conversation(app, asked.id)
    assert (found.status, found.assignee_id, found.tags) == (ConversationStatus.PENDING,
                                                             agent.id, [])
    assert [len(runs(app, r.id)) for r in (first, second, third)] == [1, 1, 0]


def test_the_rules_tried_from_one_event_are_capped(app, make, admin, agent, monkeypatch):
    monkeypatch.setattr(engine, "MAX_RUNS", 1)
    first = make.rule(admin, trigger="priority_changed",
                      actions=[{"type": "set_status", "status": "pending"}])
    second = make.rule(admin, trigger="status_changed",
                       actions=[{"type": "add_tags", "tags": ["x"]}])
    asked = make.conversation()
    run(app, conversations.set_priority, Actor("system"), asked.id, Priority.HIGH)
    assert [len(runs(app, r.id)) for r in (first, second)] == [1, 0]


def test_a_failing_action_is_recorded_and_the_others_apply(app, make, admin, caplog):
    rule = make.rule(admin, trigger="customer_message",
                     conditions={"all": [{"field": "body", "op": "contains", "value": "still"}]},
                     actions=[{"type": "set_status", "status": "new"},  # not allowed from open
                              {"type": "add_tags", "tags": ["seen"]}])
    asked = make.conversation()
    run(app, conversations.change_status, Actor("system"), asked.id, ConversationStatus.OPEN)
    message = run(app, conversations.post_message, asked.id,
                  NewMessage(body="Still there?", author=Actor("customer", asked.customer_id)))

    with app.app_context():
        assert db.session.get(Message, message.id) is not None  # the triggering commit stands
    [failed] = runs(app, rule.id)
    assert failed.outcome == RunOutcome.PARTIAL
    assert failed.errors == [{"action": 0, "type": "set_status",
                              "error": "a open conversation cannot become new"}]
    [applied] = history(app, asked.id, "automation.applied")
    assert applied.payload["failed"] == failed.errors
    assert applied.payload["applied"] == [{"type": "add_tags", "tags": ["seen"]}]
    assert conversation(app, asked.id).tags == ["seen"]
    assert "set_status failed" in caplog.text


def test_a_deactivated_or_deleted_rule_does_not_run(app, make, admin):
    rule = make.rule(admin, trigger="conversation_opened",
                     actions=[{"type": "add_tags", "tags": ["x"]}])
    run(app, automation.update_rule, agent_actor(admin), rule.id, active=False)
    assert conversation(app, make.conversation().id).tags == []
    run(app, automation.update_rule, agent_actor(admin), rule.id, active=True)
    run(app, automation.delete_rule, agent_actor(admin), rule.id)
    assert conversation(app, make.conversation().id).tags == []


def test_a_rule_that_breaks_does_not_stop_the_others(app, make, admin, monkeypatch, caplog):
    broken = make.rule(admin, trigger="conversation_opened",
                       actions=[{"type": "add_tags", "tags": ["broken"]}])
    make.rule(admin, trigger="conversation_opened", actions=[{"type": "add_tags",
                                                              "tags": ["fine"]}])
    real = engine.matches

    def matches(session, rule, *args):
        if rule.id == broken.id:
            raise RuntimeError("a bug")
        return real(session, rule, *args)

    monkeypatch.setattr(engine, "matches", matches)
    assert conversation(app, make.conversation().id).tags == ["fine"]
    assert f"rule {broken.id} failed" in caplog.text
