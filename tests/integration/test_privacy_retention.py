"""Retention: each rule deletes (or purges) what is older than its days and nothing else;
the preview counts what a run deletes; each run is audited. Both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.errors import ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.jobs import Worker
from helpdesk.mail import intake
from helpdesk.models import (
    AuditLog,
    Call,
    CallEventKind,
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    DataRequest,
    DataRequestState,
    IdentityKind,
    InboundEmail,
    InboundSource,
    Message,
    Role,
    TimelineEvent,
)
from helpdesk.orm import utcnow
from helpdesk.periodic import periodic_jobs
from helpdesk.privacy import apply_retention, exports, retention
from helpdesk.services import calls, customers, email_intake
from helpdesk.services.email_intake import Source
from knowledge_base import articles
from knowledge_base.feedback import ArticleFeedback, record_feedback
from tests.factories import raw_email

OLD, RECENT = 40, 10  # days; the rules below keep 30


@pytest.fixture
def admin(make):
    return Actor("agent", make.user(Role.ADMIN).id)


def keep(app, admin, **days):
    with app.app_context(), unit_of_work() as uow:
        retention.save_settings(uow, admin, days)


def aged(app, conversation_id, days, status=ConversationStatus.SOLVED) -> int:
    """Make the conversation ``status`` (solved or closed) and idle for ``days`` days."""
    then = utcnow() - timedelta(days=days)
    with app.app_context(), unit_of_work() as uow:
        row = uow.session.get(Conversation, conversation_id)
        row.status, row.created_at, row.last_message_at = status, then, then
        row.solved_at = row.closed_at = then if status != ConversationStatus.OPEN else None
        uow.commit()
    return conversation_id


def visitor(app, make, token: str, days: int) -> Customer:
    with app.app_context(), unit_of_work() as uow:
        found = customers.identify(uow, SYSTEM, IdentityKind.VISITOR, token)
        found.created_at = utcnow() - timedelta(days=days)
        uow.commit()
        return found


def exists(app, model, ident) -> bool:
    with app.app_context():
        return db.session.get(model, ident) is not None


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def run(app):
    with app.app_context():
        apply_retention(utcnow())


def test_anonymous_chats_go_with_their_visitors(app, make, admin):
    old = visitor(app, make, "old-visitor", OLD)
    gone = aged(app, make.conversation(old, channel=Channel.CHAT, body="anon text").id, OLD)
    recent = aged(app, make.conversation(visitor(app, make, "v2", OLD), Channel.CHAT).id, RECENT)
    still_open = aged(app, make.conversation(visitor(app, make, "v3", OLD), Channel.CHAT).id,
                      OLD, ConversationStatus.OPEN)
    known = make.customer(email="known@example.com")
    identified = aged(app, make.conversation(known, Channel.CHAT).id, OLD)
    _vote(app, make, old.id)
    keep(app, admin, anonymous_chat=30)
    with app.app_context():
        preview = retention.preview(db.session, utcnow())
    assert preview == {"anonymous_chat": 1, "anonymous_visitors": 1}
    run(app)
    assert not exists(app, Conversation, gone) and not exists(app, Customer, old.id)
    assert count(app, Message, Message.conversation_id == gone) == 0
    assert count(app, TimelineEvent, TimelineEvent.customer_id == old.id) == 0
    assert all(exists(app, Conversation, c) for c in (recent, still_open, identified))
    with app.app_context():
        vote = db.session.scalars(select(ArticleFeedback)).one()
    assert (vote.customer_id, vote.comment) == (None, "")


def test_closed_conversations_of_a_channel_go_after_their_days(app, make, admin):
    customer = make.customer()
    old_email = aged(app, make.conversation(customer).id, OLD, ConversationStatus.CLOSED)
    recent_email = aged(app, make.conversation(customer).id, RECENT, ConversationStatus.CLOSED)
    open_email = aged(app, make.conversation(customer).id, OLD, ConversationStatus.OPEN)
    old_chat = aged(app, make.conversation(customer, Channel.CHAT).id, OLD)
    keep(app, admin, closed_email=30)
    run(app)
    assert not exists(app, Conversation, old_email)
    assert all(exists(app, Conversation, c) for c in (recent_email, open_email, old_chat))
    assert exists(app, Customer, customer.id)


def test_a_phone_conversation_goes_with_its_call(app, make, admin):
    with app.app_context(), unit_of_work() as uow:
        calls.ingest(uow, calls.CallEventIn(call_id="ret-1", kind=CallEventKind.RINGING,
                                            occurred_at=utcnow(), caller="+33611111111"))
        call = uow.session.scalars(select(Call)).one()
        conversation_id = call.conversation_id
    aged(app, conversation_id, OLD, ConversationStatus.CLOSED)
    keep(app, admin, closed_phone=30)
    run(app)
    assert count(app, Call) == 0 and not exists(app, Conversation, conversation_id)


def test_email_sources_are_purged_the_messages_stay(app, make, admin):
    with app.app_context():
        old = intake.ingest(raw_email("a@example.com", body="Old mail"), Source(
            InboundSource.API))
        new = intake.ingest(raw_email("b@example.com"), Source(InboundSource.API))
        with unit_of_work() as uow:
            held = email_intake.store(uow, raw_email("c@example.com"),
                                      Source(InboundSource.API)).email_id
            email_intake.quarantine(uow, held, "held")
            for email_id in (old.inbound_id, held):
                uow.session.get(InboundEmail, email_id).received_at = utcnow() - timedelta(
                    days=OLD)
            uow.commit()
    keep(app, admin, email_sources=30)
    run(app)
    with app.app_context():
        raws = {e.id: e.raw for e in db.session.scalars(select(InboundEmail))}
    assert raws[old.inbound_id] == b"" and raws[new.inbound_id] and raws[held]
    assert count(app, Message, Message.conversation_id == old.conversation_id) == 1


def test_each_run_is_audited_with_its_counts(app, make, admin):
    run(app)
    assert count(app, AuditLog, AuditLog.action == "retention.applied") == 0  # all off
    aged(app, make.conversation().id, OLD, ConversationStatus.CLOSED)
    keep(app, admin, closed_email=30, email_sources=90)
    run(app)
    run(app)
    with app.app_context():
        runs = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "retention.applied").order_by(AuditLog.id)).all()
        latest = retention.recent_runs(db.session)
    assert [r.details["days"] for r in runs] == [{"closed_email": 30, "email_sources": 90}] * 2
    assert runs[0].details["deleted"]["closed_email"]["conversations"] == 1
    assert runs[1].details["deleted"] == {"closed_email": {}, "email_sources": {}}
    assert [r.deleted for r in latest] == [
        0, sum(runs[0].details["deleted"]["closed_email"].values())]


def test_the_worker_applies_the_rules_and_builds_the_waiting_exports(app, make, admin):
    """Through the worker's own loop (helpdesk.jobs), as deployed: one tick does both."""
    customer = make.customer()
    gone = aged(app, make.conversation(customer).id, OLD, ConversationStatus.CLOSED)
    kept = aged(app, make.conversation(customer).id, RECENT, ConversationStatus.CLOSED)
    keep(app, admin, closed_email=30)
    with app.app_context(), unit_of_work() as uow:
        request_id = exports.request_export(uow, admin, customer.id).id
    with app.app_context():
        assert {"privacy: exports", "privacy: retention"} <= {
            job.name for job in periodic_jobs(app)}
        Worker().tick()
        request = db.session.get(DataRequest, request_id)
        [audit] = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "retention.applied")).all()
    assert not exists(app, Conversation, gone) and exists(app, Conversation, kept)
    assert audit.details["deleted"]["closed_email"]["conversations"] == 1
    assert request.state == DataRequestState.DONE and request.archive_size > 0


def test_settings_are_checked_and_turned_off_with_none(app, admin):
    for days, field in (({"closed_fax": 3}, "closed_fax"), ({"closed_email": 0},
                        "closed_email"), ({"email_sources": 36501}, "email_sources")):
        with pytest.raises(ValidationFailed) as refused:
            keep(app, admin, **days)
        assert refused.value.field == field
    keep(app, admin, closed_email=30)
    keep(app, admin, closed_email=None)
    with app.app_context():
        assert set(retention.current_settings(db.session).values()) == {None}
        assert retention.preview(db.session, utcnow()) == {}


def _vote(app, make, customer_id):
    article = make.article()
    with app.app_context(), unit_of_work() as uow:
        articles.publish(uow, SYSTEM, article.id)
        record_feedback(uow, Actor("customer", customer_id), article.id, helpful=True,
                        comment="anon said", customer_id=customer_id)
