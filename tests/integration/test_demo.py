"""The demo loads through the real services into a living helpdesk (SQLite and PostgreSQL)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.demo import DemoState, demo_state, load_demo
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Conversation, ConversationStatus, Customer, Role, TimelineEvent, User
from helpdesk.orm import utcnow
from helpdesk.services import staff


@pytest.fixture
def loaded(app):
    """The demo, loaded once for the test; yields its summary inside an app context."""
    with app.app_context():
        with unit_of_work() as uow:
            summary = load_demo(uow)
        yield summary


def test_demo_has_staff_of_each_role_and_customers_with_identities(loaded):
    assert {login.role for login in loaded.logins} == set(Role)
    for login in loaded.logins:
        assert staff.authenticate(db.session, login.email, login.password) is not None
    assert len({login.password for login in loaded.logins}) == len(loaded.logins)
    live = list(db.session.scalars(select(Customer).where(Customer.merged_into_id.is_(None))))
    assert 15 <= len(live) <= 25
    assert all(customer.identities for customer in live)
    assert sum(len(customer.identities) > 1 for customer in live) >= 10
    assert {c.language for c in live} == {"fr", "en"}


def test_history_spans_weeks_channels_and_the_whole_lifecycle(loaded):
    channels = set(db.session.scalars(select(TimelineEvent.channel).distinct()
                                      .where(TimelineEvent.type == "message.posted")))
    assert {"chat", "email", "phone"} <= channels
    first, last = db.session.execute(select(func.min(Conversation.created_at),
                                            func.max(Conversation.created_at))).one()
    assert first < utcnow() - timedelta(weeks=3) and last < utcnow()
    statuses = set(db.session.scalars(select(Conversation.status).distinct()))
    assert statuses == set(ConversationStatus)
    assigned = db.session.scalar(select(func.count()).where(Conversation.assignee_id.is_not(None)))
    assert assigned >= loaded.conversations // 2
    for conversation in db.session.scalars(select(Conversation)):
        about_it = TimelineEvent.conversation_id == conversation.id
        times = list(db.session.scalars(select(TimelineEvent.occurred_at).where(about_it)
                                        .order_by(TimelineEvent.id)))
        assert times == sorted(times) and times[0] == conversation.created_at
        owners = set(db.session.scalars(select(TimelineEvent.customer_id).where(about_it)))
        assert owners == {conversation.customer_id}


def test_load_once_twice_does_not_duplicate_and_a_plain_load_refuses(runner, app):
    first = runner.invoke(args=["demo", "load", "--once"])
    assert first.exit_code == 0, first.output
    assert "PASSWORD" in first.output and "admin@maison-lumiere.example" in first.output
    counts = _counts(app)
    again = runner.invoke(args=["demo", "load", "--once"])
    assert again.exit_code == 0, again.output
    assert "already loaded" in again.output and "PASSWORD" not in again.output
    assert "users set-password" in again.output
    assert _counts(app) == counts
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 1
    assert "already loaded" in result.output and "Traceback" not in result.output


def test_half_loaded_demo_is_reported_not_completed(runner, app, make):
    make.user(Role.AGENT, email="julien.petit@maison-lumiere.example")
    with app.app_context():
        assert demo_state(db.session) is DemoState.PARTIAL
    result = runner.invoke(args=["demo", "load", "--once"])
    assert result.exit_code == 1
    assert "half-way" in result.output


def _counts(app) -> tuple[int, int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (User, Customer, Conversation, TimelineEvent))
