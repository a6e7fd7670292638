"""Merging customers and undoing it, without loss (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import knowledge_base.feedback  # noqa: F401  (its table references customers)
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.models import (
    AuditLog,
    AuthorKind,
    Call,
    CallStatus,
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    CustomerMerge,
    Identity,
    IdentityKind,
    MergeReason,
    Message,
    TimelineEvent,
)
from helpdesk.orm import utcnow
from helpdesk.services import chat, conversations, csat, customer_merges, customers
from helpdesk.services.customer_merges import actor_references, customer_references
from knowledge_base.feedback import ArticleFeedback

K = IdentityKind
MARKERS = ("customer.merged", "customer.unmerged", "customer.restored")


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def references(session, customer_id: int) -> dict[str, list[int]]:
    """Every row naming the customer, by table.column (the merge markers left out)."""
    found = {}
    columns = [(c, ()) for c in customer_references()]
    for column, where in [*columns, *((c, (w,)) for c, w in actor_references())]:
        [primary_key] = column.table.primary_key.columns
        query = select(primary_key).where(column == customer_id, *where)
        if column.table.name == "timeline_events":
            query = query.where(column.table.c.type.not_in(MARKERS))
        found[f"{column.table.name}.{column.name}"] = sorted(session.scalars(query))
    return found


def history(session, customer_id: int) -> set[int]:
    return set(session.scalars(select(TimelineEvent.id).where(
        TimelineEvent.customer_id == customer_id, TimelineEvent.type.not_in(MARKERS))))


def holdings(session, customer_id: int) -> dict[str, object]:
    """What the customer has, as a person would check it: identities, conversations, the
    messages in them, the timeline (merge markers left out) and the CSAT answers."""
    owned = Conversation.customer_id == customer_id
    return {
        "identities": set(session.execute(select(
            Identity.id, Identity.kind, Identity.value, Identity.verified).where(
            Identity.customer_id == customer_id)).all()),
        "conversations": set(session.scalars(select(Conversation.id).where(owned))),
        "messages": set(session.scalars(select(Message.id).join(Conversation).where(owned))),
        "timeline": history(session, customer_id),
        "csat": set(session.execute(select(
            Conversation.id, Conversation.csat_rating, Conversation.csat_comment).where(
            owned, Conversation.csat_rating.is_not(None))).all()),
    }


def rated_conversation(make, uow, customer: Customer, rating: int) -> Conversation:
    """A chat the customer rated once it was solved."""
    conversation = make.conversation(customer=customer, channel=Channel.CHAT)
    conversations.change_status(uow, SYSTEM, conversation.id, ConversationStatus.SOLVED)
    csat.rate(uow, Actor("customer", customer.id), conversation.id, rating=rating,
              comment=f"rated {rating}")
    return conversation


def rich_customer(make, uow, name: str, phone: str) -> Customer:
    """A customer named by a row of every kind: identities, conversations and messages,
    a CSAT answer, history, a call, help-centre feedback, a customer merged into them
    earlier."""
    customer = make.customer(name=name)
    customers.add_identity(uow, SYSTEM, customer.id, K.PHONE, phone)
    for channel in (Channel.EMAIL, Channel.CHAT):
        make.conversation(customer=customer, channel=channel)
    rated_conversation(make, uow, customer, rating=len(phone) % 5 + 1)
    earlier = make.customer(name="")
    customer_merges.merge_customers(uow, SYSTEM, earlier.id, customer.id)
    uow.session.add(Call(external_id=f"call-{customer.id}", customer_id=customer.id,
                         status=CallStatus.COMPLETED, started_at=utcnow()))
    uow.session.add(ArticleFeedback(article_id=make.article().id, version=1, helpful=True,
                                    customer_id=customer.id))
    uow.session.commit()
    return customer


@pytest.fixture
def pair(make, uow):
    return (rich_customer(make, uow, "", "+33600000001"),
            rich_customer(make, uow, "Ada L.", "+33600000002"))


def test_merge_moves_every_row_and_unmerge_restores_each_exactly(pair, make, uow):
    source, target = pair
    agent = make.user()
    before = {c.id: references(uow.session, c.id) for c in pair}
    histories = {c.id: history(uow.session, c.id) for c in pair}
    assert all(before[source.id].values())  # a row of every kind names the source

    customer_merges.merge_customers(uow, Actor("agent", agent.id), source.id, target.id)
    assert not any(references(uow.session, source.id).values())
    assert history(uow.session, target.id) == histories[source.id] | histories[target.id]
    moved_in = references(uow.session, target.id)
    for key, ids in before[source.id].items():
        assert set(ids) <= set(moved_in[key]), key

    customer_merges.unmerge_customers(uow, Actor("agent", agent.id), target.id, source.id)
    assert {c.id: references(uow.session, c.id) for c in pair} == before
    assert {c.id: history(uow.session, c.id) for c in pair} == histories
    assert uow.session.get(Customer, source.id).merged_into_id is None


def test_histories_combine_without_loss_and_undo_gives_each_back_its_own(pair, make, uow):
    """Every identity, conversation, message, timeline event and CSAT answer: the target
    holds both customers' after the merge, and each holds exactly its own after the undo."""
    source, target = pair
    agent = Actor("agent", make.user().id)
    before = {c.id: holdings(uow.session, c.id) for c in pair}
    assert all(all(held.values()) for held in before.values())  # something of each kind

    customer_merges.merge_customers(uow, agent, source.id, target.id)
    combined = holdings(uow.session, target.id)
    assert combined == {key: before[source.id][key] | before[target.id][key]
                        for key in combined}
    assert not any(holdings(uow.session, source.id).values())
    rated = {row[0] for row in combined["csat"]}
    assert rated <= set(uow.session.scalars(select(TimelineEvent.conversation_id).where(
        TimelineEvent.customer_id == target.id, TimelineEvent.type == "conversation.rated")))

    customer_merges.unmerge_customers(uow, agent, target.id, source.id)
    assert {c.id: holdings(uow.session, c.id) for c in pair} == before


def test_the_merge_record_says_who_when_and_exactly_what_moved(pair, make, uow):
    source, target = pair
    agent = make.user()
    before = references(uow.session, source.id)
    customer_merges.merge_customers(uow, Actor("agent", agent.id), source.id, target.id)
    record = uow.session.scalars(select(CustomerMerge).where(
        CustomerMerge.source_id == source.id)).one()
    assert (record.target_id, record.merged_by_id, record.reason) == (
        target.id, agent.id, MergeReason.AGENT)
    # What the source's own history gained by the rows that name it, moved too.
    assert {k: v for k, v in record.moved.items() if k != "timeline_events.customer_id"} == {
        k: v for k, v in before.items() if k != "timeline_events.customer_id"}
    assert set(before["timeline_events.customer_id"]) <= set(
        record.moved["timeline_events.customer_id"])


def test_merge_and_unmerge_are_in_the_timelines_and_the_audit_log(pair, make, uow):
    source, target = pair
    agent = Actor("agent", make.user().id)
    customer_merges.merge_customers(uow, agent, source.id, target.id)
    customer_merges.unmerge_customers(uow, agent, target.id, source.id)
    record = uow.session.scalars(select(CustomerMerge).where(
        CustomerMerge.source_id == source.id)).one()
    assert (record.unmerged_by_id, record.unmerged_at is not None) == (agent.id, True)
    marks = {(e.customer_id, e.type): e.payload for e in uow.session.scalars(
        select(TimelineEvent).where(TimelineEvent.type.in_(MARKERS),
                                    TimelineEvent.customer_id.in_([source.id, target.id]))
        .order_by(TimelineEvent.id))}  # the latest of each kind
    assert marks[(target.id, "customer.merged")]["source_customer_id"] == source.id
    assert marks[(target.id, "customer.merged")]["moved"]["identities.customer_id"] == 3
    assert marks[(target.id, "customer.unmerged")]["merge_id"] == record.id
    assert marks[(source.id, "customer.restored")]["target_customer_id"] == target.id
    audit = uow.session.scalars(select(AuditLog.action).where(
        AuditLog.user_id == agent.id).order_by(AuditLog.id)).all()
    assert audit == ["customer.merged", "customer.unmerged"]


def test_what_arrives_after_the_merge_stays_with_the_target(make, uow):
    source, target = make.customer(), make.customer()
    customer_merges.merge_customers(uow, SYSTEM, source.id, target.id)
    later = make.conversation(customer=uow.session.get(Customer, target.id))
    customer_merges.unmerge_customers(uow, SYSTEM, target.id, source.id)
    assert uow.session.get(Conversation, later.id).customer_id == target.id
    assert count(uow.session, Identity, Identity.customer_id == source.id) == 1


def test_the_profile_blanks_filled_by_the_merge_are_taken_back(make, uow):
    source, target = make.customer(name="Ada"), make.customer(name="")
    customers.update_customer(uow, SYSTEM, source.id, language="fr",
                              consents={"marketing_email": True})
    customers.update_customer(uow, SYSTEM, target.id, timezone="Europe/Paris",
                              consents={"marketing_email": False, "marketing_sms": True})
    merged = customer_merges.merge_customers(uow, SYSTEM, source.id, target.id)
    assert (merged.name, merged.language, merged.timezone) == ("Ada", "fr", "Europe/Paris")
    assert merged.consents == {"marketing_email": False, "marketing_sms": True}
    customer_merges.unmerge_customers(uow, SYSTEM, target.id, source.id)
    restored = uow.session.get(Customer, target.id)
    assert (restored.name, restored.language, restored.timezone) == ("", None, "Europe/Paris")


def test_merges_undo_in_reverse_order(make, uow):
    first, middle, final = make.customer(), make.customer(), make.customer()
    customer_merges.merge_customers(uow, SYSTEM, first.id, middle.id)
    customer_merges.merge_customers(uow, SYSTEM, middle.id, final.id)
    assert uow.session.get(Customer, first.id).merged_into_id == final.id
    with pytest.raises(Conflict) as refused:
        customer_merges.unmerge_customers(uow, SYSTEM, middle.id, first.id)
    assert refused.value.field == "target_id"
    uow.rollback()
    customer_merges.unmerge_customers(uow, SYSTEM, final.id, middle.id)
    assert uow.session.get(Customer, first.id).merged_into_id == middle.id
    assert count(uow.session, Identity, Identity.customer_id == middle.id) == 2
    customer_merges.unmerge_customers(uow, SYSTEM, middle.id, first.id)
    for customer in (first, middle, final):
        assert count(uow.session, Identity, Identity.customer_id == customer.id) == 1


def test_an_undone_merge_cannot_be_undone_again(make, uow):
    source, target = make.customer(), make.customer()
    customer_merges.merge_customers(uow, SYSTEM, source.id, target.id)
    customer_merges.unmerge_customers(uow, SYSTEM, target.id, source.id)
    with pytest.raises(NotFound) as missing:
        customer_merges.unmerge_customers(uow, SYSTEM, target.id, source.id)
    assert missing.value.field == "source_id"


def test_merges_of_a_customer_newest_first(make, uow):
    source, target = make.customer(), make.customer()
    customer_merges.merge_customers(uow, SYSTEM, source.id, target.id)
    customer_merges.unmerge_customers(uow, SYSTEM, target.id, source.id)
    customer_merges.merge_customers(uow, SYSTEM, source.id, target.id)
    found = customer_merges.merges_of(uow.session, source.id)
    assert [(m.unmerged_at is None) for m in found] == [True, False]
    assert customer_merges.merges_of(uow.session, target.id) == found


# --- the rules of merging ------------------------------------------------------------------

def test_merge_moves_messages_written_and_events_done_by_the_source(make, uow):
    source, target = make.customer(name=""), make.customer(name="Ada L.")
    make.conversation(customer=source)
    customer_merges.merge_customers(uow, SYSTEM, source.id, target.id)
    assert count(uow.session, Message, Message.author_kind == AuthorKind.CUSTOMER,
                 Message.author_id == source.id) == 0
    assert count(uow.session, TimelineEvent, TimelineEvent.actor_kind == "customer",
                 TimelineEvent.actor_id == source.id) == 0
    assert uow.session.get(Customer, target.id).name == "Ada L."


def test_a_customer_merged_once_cannot_be_merged_again(make, uow):
    source, target, third = make.customer(), make.customer(), make.customer()
    customer_merges.merge_customers(uow, SYSTEM, source.id, target.id)
    for destination in (target, third):
        with pytest.raises(Conflict) as refused:
            customer_merges.merge_customers(uow, SYSTEM, source.id, destination.id)
        assert refused.value.field == "source_id"
        uow.rollback()
    assert count(uow.session, TimelineEvent, TimelineEvent.type == "customer.merged") == 1


def test_nobody_is_merged_into_a_merged_away_customer(make, uow):
    source, target, late = make.customer(), make.customer(), make.customer()
    customer_merges.merge_customers(uow, SYSTEM, source.id, target.id)
    with pytest.raises(Conflict) as refused:
        customer_merges.merge_customers(uow, SYSTEM, late.id, source.id)
    assert refused.value.field == "target_id"


def test_a_customer_cannot_be_merged_into_itself(make, uow):
    customer = make.customer()
    with pytest.raises(ValidationFailed):
        customer_merges.merge_customers(uow, SYSTEM, customer.id, customer.id)


def test_no_conversation_opens_for_a_merged_away_customer(make, uow):
    source, target = make.customer(), make.customer()
    customer_merges.merge_customers(uow, SYSTEM, source.id, target.id)
    with pytest.raises(Conflict) as refused:
        conversations.open_conversation(uow, SYSTEM, customer_id=source.id,
                                        channel=Channel.CHAT)
    assert refused.value.field == "customer_id"


def test_delete_is_refused_for_a_customer_others_were_merged_into(make, uow):
    source, target = make.customer(), make.customer()
    customer_merges.merge_customers(uow, SYSTEM, source.id, target.id)
    with pytest.raises(Conflict):
        customers.delete_customer(uow, SYSTEM, target.id)


# --- identity resolution -------------------------------------------------------------------

def verified_pair(make, uow):
    """A shop user known by a verified external id, and a verified email customer."""
    shop_user = customers.identify(uow, SYSTEM, K.EXTERNAL, "site-1:u42", verified=True)
    email_owner = make.customer(email="ada@example.com")
    customers.remove_identity(uow, SYSTEM, email_owner.id, email_owner.identities[0].id)
    customers.add_identity(uow, SYSTEM, email_owner.id, K.EMAIL, "ada@example.com",
                           verified=True)
    return shop_user, email_owner


def test_a_verified_identity_verified_on_another_customer_merges_them(make, uow):
    shop_user, email_owner = verified_pair(make, uow)
    agent = Actor("agent", make.user().id)
    identity = customers.add_identity(uow, agent, shop_user.id, K.EMAIL, "Ada@example.com",
                                      verified=True, may_merge=True)
    assert identity.customer_id == shop_user.id
    record = uow.session.scalars(select(CustomerMerge)).one()
    assert (record.source_id, record.target_id, record.reason, record.merged_by_id) == (
        email_owner.id, shop_user.id, MergeReason.VERIFIED_IDENTITY, agent.id)
    customer_merges.unmerge_customers(uow, agent, shop_user.id, email_owner.id)
    assert customers.find_by_identity(uow.session, K.EMAIL, "ada@example.com").id == (
        email_owner.id)


def test_without_the_right_to_merge_or_verification_it_stays_a_conflict(make, uow):
    shop_user, _email_owner = verified_pair(make, uow)
    for verified, may_merge in ((True, False), (False, True)):
        with pytest.raises(Conflict) as refused:
            customers.add_identity(uow, SYSTEM, shop_user.id, K.EMAIL, "ada@example.com",
                                   verified=verified, may_merge=may_merge)
        assert refused.value.field == "value"
        uow.rollback()
    assert count(uow.session, CustomerMerge) == 0


def test_an_address_held_unverified_elsewhere_is_not_merged_by_the_rule(make, uow):
    """A sender's (or a typist's) unverified address proves nothing: no merge, a 409."""
    shop_user = customers.identify(uow, SYSTEM, K.EXTERNAL, "site-1:u42", verified=True)
    sender = customers.identify(uow, SYSTEM, K.EMAIL, "ada@example.com")
    with pytest.raises(Conflict) as refused:
        customers.add_identity(uow, SYSTEM, shop_user.id, K.EMAIL, "ada@example.com",
                               verified=True, may_merge=True)
    assert (refused.value.field, str(sender.id) in refused.value.message) == ("value", True)
    uow.rollback()
    assert count(uow.session, CustomerMerge) == 0
    assert customers.find_by_identity(uow.session, K.EMAIL, "ada@example.com").id == sender.id


def test_a_widget_user_an_email_sender_and_a_caller_become_one_person(make, uow):
    """The rule merges the verified email's owner into the verified widget user, an agent
    merges the caller; one timeline across the three channels; both undone, each is back."""
    site = make.site()
    visitor = chat.Visitor(site.id, chat.new_visitor_token(), "u42")
    widget_user = chat.start_chat(uow, site, visitor).customer
    sender = customers.identify(uow, SYSTEM, K.EMAIL, "ada@example.com", verified=True)
    make.conversation(customer=sender, channel=Channel.EMAIL)
    caller = customers.identify(uow, SYSTEM, K.PHONE, "+33 6 00 00 00 09")
    make.conversation(customer=caller, channel=Channel.PHONE)
    people = (widget_user, sender, caller)
    before = {c.id: holdings(uow.session, c.id) for c in people}
    agent = Actor("agent", make.user().id)

    customers.add_identity(uow, agent, widget_user.id, K.EMAIL, "ada@example.com",
                           verified=True, may_merge=True)
    customer_merges.merge_customers(uow, agent, caller.id, widget_user.id)
    one = holdings(uow.session, widget_user.id)
    assert one["conversations"] == set().union(*(b["conversations"] for b in before.values()))
    assert one["timeline"] == set().union(*(b["timeline"] for b in before.values()))
    channels = set(uow.session.scalars(select(TimelineEvent.channel).where(
        TimelineEvent.customer_id == widget_user.id)))
    assert {"chat", "email", "phone"} <= channels
    assert chat.known_customer(uow.session, visitor).id == widget_user.id
    for kind, value in ((K.EMAIL, "ada@example.com"), (K.PHONE, "+33600000009")):
        assert customers.find_by_identity(uow.session, kind, value).id == widget_user.id
    reasons = [m.reason for m in customer_merges.merges_of(uow.session, widget_user.id)]
    assert reasons == [MergeReason.AGENT, MergeReason.VERIFIED_IDENTITY]

    customer_merges.unmerge_customers(uow, agent, widget_user.id, caller.id)
    customer_merges.unmerge_customers(uow, agent, widget_user.id, sender.id)
    assert {c.id: holdings(uow.session, c.id) for c in people} == before
    assert customers.find_by_identity(uow.session, K.EMAIL, "ada@example.com").id == sender.id


def chat_typing(uow, site, email: str, user_id: str | None = None) -> Customer:
    """A chat visitor (verified when ``user_id`` is given) typing an address in the
    pre-chat form; their customer."""
    visitor = chat.Visitor(site.id, chat.new_visitor_token(), user_id)
    return chat.start_chat(uow, site, visitor, email=email).customer


def test_an_address_typed_in_the_chat_that_is_another_customers_is_suggested(make, uow):
    _shop_user, email_owner = verified_pair(make, uow)
    site = make.site()
    verified = chat_typing(uow, site, "ADA@example.com", user_id="u42")
    stranger = chat_typing(uow, site, "ada@example.com")
    assert (verified.claimed_email, verified.identities[0].kind) == (
        "ada@example.com", K.EXTERNAL)  # the address is noted, not given
    suggested = {c.id: [(s.customer.id, s.email, s.verified) for s in
                        customer_merges.merge_suggestions(uow.session, c.id)]
                 for c in (verified, stranger, email_owner)}
    assert suggested[verified.id] == [(email_owner.id, "ada@example.com", True)]
    assert suggested[stranger.id] == [(email_owner.id, "ada@example.com", False)]
    assert sorted(suggested[email_owner.id]) == sorted([
        (verified.id, "ada@example.com", True), (stranger.id, "ada@example.com", False)])
    customer_merges.merge_customers(uow, SYSTEM, verified.id, email_owner.id)
    assert customer_merges.merge_suggestions(uow.session, verified.id) == []
    assert [s.customer.id for s in customer_merges.merge_suggestions(
        uow.session, email_owner.id)] == [stranger.id]
