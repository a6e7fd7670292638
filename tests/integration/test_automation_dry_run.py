"""The dry run replays the last 7 days of history: what a rule would have fired on, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from helpdesk.automation import timed
from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.mail import intake
from helpdesk.models import ConversationStatus, InboundSource, Priority, Role, RuleRun
from helpdesk.orm import clock_at
from helpdesk.services import automation, conversations
from helpdesk.services.conversations import NewMessage
from helpdesk.services.email_intake import Source
from tests.factories import raw_email

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SYSTEM = Actor("system")


def run(app, service, *args, **kwargs):
    with app.app_context(), unit_of_work() as uow:
        return service(uow, *args, **kwargs)


def receive(app, subject, when):
    with clock_at(when), app.app_context():
        return intake.ingest(raw_email(subject=subject), Source(InboundSource.CLI)
                             ).conversation_id


def dry_run(app, **fields):
    with app.app_context():
        return automation.dry_run(db.session, fields, NOW)


def matched(result):
    return [(m.conversation_id, m.at) for m in result.matches]


def test_event_rule_matches_in_the_window_on_the_state_of_the_moment(app):
    refund = receive(app, "Remboursement svp", NOW - 3 * DAY)
    receive(app, "Remboursement ancien", NOW - 10 * DAY)  # before the window
    receive(app, "Hello", NOW - 2 * DAY)
    with clock_at(NOW - 2 * DAY):  # changed since: the rule saw it as it was
        run(app, conversations.update_conversation, SYSTEM, refund, priority=Priority.HIGH,
            tags=["vip"])
    conditions = {"all": [{"field": "subject", "op": "contains", "value": "remboursement"},
                          {"field": "priority", "op": "is", "value": "normal"},
                          {"field": "tags", "op": "not_contains", "value": "vip"},
                          {"field": "body", "op": "contains", "value": "never arrived"}]}

    result = dry_run(app, trigger="email_received", conditions=conditions)

    assert matched(result) == [(refund, NOW - 3 * DAY)]
    assert (result.total, result.scanned, result.truncated) == (1, 2, False)
    assert (result.since, result.until) == (NOW - 7 * DAY, NOW)
    assert result.matches[0].subject == "Remboursement svp"


def test_status_change_replay_undoes_later_changes(app, make):
    with clock_at(NOW - 5 * DAY):
        asked = make.conversation()
    with clock_at(NOW - 4 * DAY):
        run(app, conversations.change_status, SYSTEM, asked.id, ConversationStatus.PENDING)
    with clock_at(NOW - 3 * DAY):
        run(app, conversations.change_status, SYSTEM, asked.id, ConversationStatus.SOLVED)
    to_pending = {"all": [{"field": "status", "op": "is", "value": "pending"}]}
    result = dry_run(app, trigger="status_changed", conditions=to_pending)
    assert matched(result) == [(asked.id, NOW - 4 * DAY)]


def test_queue_changes_are_replayed(app, make):
    billing, sales = make.queue("Billing"), make.queue("Sales")
    with clock_at(NOW - 5 * DAY):
        asked = make.conversation(queue_id=sales.id)
    with clock_at(NOW - 4 * DAY):
        run(app, conversations.assign, SYSTEM, asked.id, assignee_id=None, queue_id=billing.id)
    in_sales = {"all": [{"field": "queue", "op": "is", "value": sales.id}]}
    result = dry_run(app, trigger="conversation_opened", conditions=in_sales)
    assert matched(result) == [(asked.id, NOW - 5 * DAY)]


@pytest.fixture
def pending_history(app, make):
    """Pending from 5 days ago (due in the window), from 12 days ago (due before it), and
    pending 5 days ago but answered a day later."""
    with clock_at(NOW - 13 * DAY):
        old = make.conversation(subject="old")
    with clock_at(NOW - 6 * DAY):
        due, answered = make.conversation(subject="due"), make.conversation(subject="answered")
    with clock_at(NOW - 12 * DAY):
        run(app, conversations.change_status, SYSTEM, old.id, ConversationStatus.PENDING)
    with clock_at(NOW - 5 * DAY):
        for conversation in (due, answered):
            run(app, conversations.change_status, SYSTEM, conversation.id,
                ConversationStatus.PENDING)
    with clock_at(NOW - 4 * DAY):
        run(app, conversations.post_message, answered.id,
            NewMessage(body="Here it is", author=Actor("customer", answered.customer_id)))
    return {"old": old.id, "due": due.id, "answered": answered.id}


def test_pending_for_replays_the_moment_the_delay_was_reached(app, pending_history):
    result = dry_run(app, trigger="pending_for", delay_minutes=3 * 24 * 60)
    assert matched(result) == [(pending_history["due"], NOW - 2 * DAY)]


def test_the_dry_run_finds_the_occurrence_the_worker_fires_on(app, make, pending_history):
    rule = make.rule(make.user(Role.ADMIN), trigger="pending_for", delay_minutes=3 * 24 * 60,
                     actions=[{"type": "add_tags", "tags": ["late"]}])
    with app.app_context():
        expected = automation.dry_run(db.session, automation.current_fields(rule), NOW)
        timed.run_due(unit_of_work, NOW)
        rows = db.session.execute(select(RuleRun.conversation_id, RuleRun.occurrence))
        fired = {conversation_id: occurrence for conversation_id, occurrence in rows}
    [match] = expected.matches
    assert fired[pending_history["due"]] == match.occurrence
    # A new rule also catches up on a state that lasted since before the window.
    assert set(fired) == {pending_history["due"], pending_history["old"]}


def test_unassigned_and_unanswered_are_replayed(app, make):
    with clock_at(NOW - 2 * DAY):
        waiting = make.conversation(subject="nobody took it")
        taken = make.conversation(subject="taken")
    agent = make.user(Role.AGENT)
    with clock_at(NOW - 2 * DAY + timedelta(minutes=10)):
        run(app, conversations.assign, SYSTEM, taken.id, assignee_id=agent.id)

    unassigned = dry_run(app, trigger="unassigned_for", delay_minutes=30)
    unanswered = dry_run(app, trigger="no_agent_reply", delay_minutes=60)

    half_hour, hour = timedelta(minutes=30), timedelta(hours=1)
    assert matched(unassigned) == [(waiting.id, NOW - 2 * DAY + half_hour)]
    assert sorted(matched(unanswered)) == [(waiting.id, NOW - 2 * DAY + hour),
                                           (taken.id, NOW - 2 * DAY + hour)]


def test_a_draft_is_checked_like_a_rule(app):
    from helpdesk.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="delay_minutes"), app.app_context():
        automation.dry_run(db.session, {"trigger": "pending_for"}, NOW)
