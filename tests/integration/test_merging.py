"""Merging and splitting conversations: every message kept, seqs appended, email threading
following the messages, history and audit on both sides; SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import Actor
from helpdesk.extensions import db
from helpdesk.mail import intake
from helpdesk.mail.threading import subject_tag
from helpdesk.models import (
    AuditLog,
    Conversation,
    ConversationParticipant,
    ConversationStatus,
    EmailMessageRef,
    InboundSource,
    Message,
    TimelineEvent,
)
from helpdesk.services import conversations, merging
from helpdesk.services.conversations import NewMessage
from helpdesk.services.email_intake import Source
from helpdesk.services.queries import ConversationFilter, list_conversations
from tests.factories import raw_email


@pytest.fixture
def deliver(app):
    """Run the email pipeline on raw bytes; returns the conversation it went to."""
    def run(raw: bytes) -> int:
        with app.app_context():
            return intake.ingest(raw, Source(InboundSource.CLI, reference="t.eml")).conversation_id
    return run


@pytest.fixture
def agent(make):
    return Actor("agent", make.user().id)


def thread(session, conversation_id):
    return [(m.seq, m.body) for m in session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq))]


def history(session, conversation_id):
    return [e.type for e in session.scalars(select(TimelineEvent).where(
        TimelineEvent.conversation_id == conversation_id).order_by(TimelineEvent.id))]


def fresh(session, conversation_id):
    return session.get(Conversation, conversation_id, populate_existing=True)


def post(uow, conversation_id, body, actor):
    return conversations.post_message(uow, conversation_id, NewMessage(body=body, author=actor))


# --- merge --------------------------------------------------------------------------------


def test_a_merge_moves_every_message_after_the_target_s_and_closes_the_source(
        uow, make, agent):
    customer = make.customer()
    target = make.conversation(customer, body="Where is order 12?")
    source = make.conversation(customer, body="Any news about order 12?")
    post(uow, source.id, "We are looking into it", agent)
    conversations.set_tags(uow, agent, source.id, ["delivery"])
    source_ids = [m.id for m in uow.session.scalars(select(Message).where(
        Message.conversation_id == source.id).order_by(Message.seq))]
    merged = merging.merge(uow, agent, target.id, source.id)
    assert thread(uow.session, merged.id) == [
        (1, "Where is order 12?"), (2, "Any news about order 12?"),
        (3, "We are looking into it")]
    moved = uow.session.scalars(select(Message).where(Message.id.in_(source_ids))
                                .order_by(Message.seq)).all()
    assert [m.meta["moved_from"] for m in moved] == [
        {"conversation_id": source.id, "seq": 1}, {"conversation_id": source.id, "seq": 2}]
    target_now, source_now = fresh(uow.session, target.id), fresh(uow.session, source.id)
    assert (target_now.last_seq, target_now.tags) == (3, ["delivery"])
    assert target_now.first_response_at == moved[1].created_at
    assert (source_now.status, source_now.merged_into_id) == (
        ConversationStatus.CLOSED, target.id)
    assert thread(uow.session, source.id) == []
    assert "conversation.merged" in history(uow.session, target.id)
    assert {"conversation.merged_into", "conversation.status_changed"} <= set(
        history(uow.session, source.id))
    audit = uow.session.scalar(select(AuditLog).where(AuditLog.action == "conversation.merged"))
    assert (audit.user_id, audit.target_id, audit.details["source_id"]) == (
        agent.id, target.id, source.id)


def test_replies_to_a_merged_conversation_s_mail_land_in_the_target(app, uow, deliver, agent):
    target = deliver(raw_email(subject="Order 12", message_id="a1@mail.example"))
    source = deliver(raw_email(subject="Order 12 again", message_id="b1@mail.example"))
    merging.merge(uow, agent, target, source)
    assert deliver(raw_email(subject="Re: Order 12 again", body="Still waiting",
                             in_reply_to="b1@mail.example")) == target
    with app.app_context():  # the source's token, in the subject, names the target now
        tagged = f"Re: Order 12 again {subject_tag(source)}"
    assert deliver(raw_email(subject=tagged, body="Hello?")) == target
    assert [body for _seq, body in thread(uow.session, target)][-2:] == ["Still waiting",
                                                                        "Hello?"]
    assert uow.session.scalar(select(EmailMessageRef.conversation_id).where(
        EmailMessageRef.rfc_message_id == "b1@mail.example")) == target


def test_different_customers_merge_only_when_confirmed_and_may_reply_after(
        app, uow, deliver, agent):
    target = deliver(raw_email(sender="ada@example.com", message_id="a1@mail.example"))
    source = deliver(raw_email(sender="bob@example.com", message_id="b1@mail.example"))
    with pytest.raises(Conflict, match="supervisor must confirm") as refused:
        merging.merge(uow, agent, target, source)
    assert refused.value.field == "confirm_other_customer"
    assert fresh(uow.session, source).merged_into_id is None
    merging.merge(uow, agent, target, source, confirm_other_customer=True, may_confirm=True)
    assert uow.session.scalars(select(ConversationParticipant.email).where(
        ConversationParticipant.conversation_id == target)).all() == ["bob@example.com"]
    assert deliver(raw_email(sender="bob@example.com", body="Me again",
                             in_reply_to="b1@mail.example")) == target


@pytest.mark.parametrize("case", ["itself", "closed target", "merged source", "unknown"])
def test_impossible_merges_are_refused_and_change_nothing(uow, make, agent, case):
    customer = make.customer()
    target, source = make.conversation(customer), make.conversation(customer)
    source_id, error = source.id, Conflict
    if case == "itself":
        source_id, error = target.id, ValidationFailed
    elif case == "closed target":
        conversations.change_status(uow, agent, target.id, ConversationStatus.CLOSED)
    elif case == "merged source":
        merging.merge(uow, agent, make.conversation(customer).id, source.id)
    else:
        source_id, error = 999_999, NotFound
    before = thread(uow.session, target.id)
    with pytest.raises(error):
        merging.merge(uow, agent, target.id, source_id)
    uow.rollback()
    assert thread(uow.session, target.id) == before


# --- split --------------------------------------------------------------------------------


def test_a_message_split_off_opens_a_conversation_and_replies_to_it_follow(
        app, uow, deliver, make, agent):
    source = deliver(raw_email(subject="Order 12", message_id="a1@mail.example"))
    deliver(raw_email(subject="Re: Order 12", body="Also, my invoice is wrong",
                      message_id="a2@mail.example", in_reply_to="a1@mail.example"))
    deliver(raw_email(subject="Re: Order 12", body="And order 12?",
                      message_id="a3@mail.example", in_reply_to="a1@mail.example"))
    queue = make.queue()
    conversations.assign(uow, agent, source, assignee_id=None, queue_id=queue.id)
    new = merging.split(uow, agent, source, seq=2, subject="Wrong invoice")
    assert (new.customer_id, new.queue_id, new.subject) == (
        fresh(uow.session, source).customer_id, queue.id, "Wrong invoice")
    assert thread(uow.session, new.id) == [(1, "Also, my invoice is wrong")]
    assert [seq for seq, _ in thread(uow.session, source)] == [1, 3]  # a gap, not renumbered
    assert deliver(raw_email(subject="Re: Wrong invoice", body="Here is the PDF",
                             in_reply_to="a2@mail.example")) == new.id
    assert deliver(raw_email(subject="Re: Order 12", body="Thanks",
                             in_reply_to="a3@mail.example")) == source
    assert "conversation.messages_split_off" in history(uow.session, source)
    assert history(uow.session, new.id)[:2] == ["conversation.opened",
                                               "conversation.messages_moved_in"]


def test_split_with_the_following_messages_into_another_customer_s_conversation(
        uow, deliver, agent):
    source = deliver(raw_email(sender="ada@example.com", message_id="a1@mail.example"))
    deliver(raw_email(sender="ada@example.com", body="Second", in_reply_to="a1@mail.example",
                      message_id="a2@mail.example"))
    deliver(raw_email(sender="ada@example.com", body="Third", in_reply_to="a1@mail.example"))
    target = deliver(raw_email(sender="bob@example.com", subject="Bob's order"))
    with pytest.raises(Conflict):
        merging.split(uow, agent, source, seq=2, following=True, target_id=target)
    uow.rollback()
    moved_to = merging.split(uow, agent, source, seq=2, following=True, target_id=target,
                             confirm_other_customer=True, may_confirm=True)
    assert moved_to.id == target
    assert [body for _seq, body in thread(uow.session, target)] == [
        "My parcel never arrived.", "Second", "Third"]
    assert deliver(raw_email(sender="ada@example.com", body="Fourth",
                             in_reply_to="a2@mail.example")) == target


@pytest.mark.parametrize(("seq", "following", "error", "field"), [
    (9, False, NotFound, "seq"),
    (1, True, ValidationFailed, "seq"),  # every message: that is a merge
])
def test_impossible_splits_are_refused(uow, make, agent, seq, following, error, field):
    conv = make.conversation()
    post(uow, conv.id, "Second", agent)
    with pytest.raises(error) as refused:
        merging.split(uow, agent, conv.id, seq=seq, following=following)
    assert refused.value.field == field


def test_a_lone_message_cannot_be_split_off(uow, make, agent):
    conv = make.conversation()
    with pytest.raises(ValidationFailed, match="merge it instead"):
        merging.split(uow, agent, conv.id, seq=1)


def test_moved_messages_are_found_in_their_new_conversation(app, uow, make, agent):
    customer = make.customer()
    target = make.conversation(customer, body="First")
    source = make.conversation(customer, body="Mon remboursement, svp")
    merging.merge(uow, agent, target.id, source.id)
    with app.app_context():
        hits = list_conversations(db.session, ConversationFilter(search="remboursement"))
    assert [c.id for c in hits.items] == [target.id]
