"""Customer segments (helpdesk.services.segments): each condition compiled to SQL on both
databases, ``member_ids`` in the conversation and customer lists and saved views, and who
manages which segment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Channel, ConversationStatus, Customer, Role
from helpdesk.orm import clock_at, utcnow
from helpdesk.services import (
    conversations,
    csat,
    customer_merges,
    customers,
    queries,
    saved_views,
    segments,
)
from helpdesk.services.queries import ConversationFilter
from helpdesk.services.saved_views import ViewFilters


def conversation(app, make, customer, channel=Channel.EMAIL, *, days_ago=0, status=None,
                 rating=None):
    with clock_at(utcnow() - timedelta(days=days_ago)):
        opened = make.conversation(customer, channel=channel)
    with app.app_context(), unit_of_work() as uow:
        if status or rating:
            conversations.change_status(uow, SYSTEM, opened.id,
                                        status or ConversationStatus.SOLVED)
        if rating:
            csat.rate(uow, Actor("customer", customer.id), opened.id, rating=rating)
    return opened


def profile(app, customer, **changes):
    with app.app_context(), unit_of_work() as uow:
        customers.update_customer(uow, SYSTEM, customer.id, **changes)


@pytest.fixture
def people(app, make):
    """Ada: French gold VIP, 3 contacts this month (one open), last rated 2 (5 before).
    Bob: English silver, chat only, one contact 40 days ago rated 5. Cy: nothing at all."""
    make.custom_field(subject="customer", key="loyalty_tier", label="Tier", type="select",
                      options=["Gold", "silver"])
    make.custom_field(subject="customer", key="vip", label="VIP", type="checkbox")
    ada = make.customer("Ada", email="ada@Maison.example")
    bob = make.customer("Bob", email="bob@other.example")
    cy = make.customer("Cy", email="cy@maison.example.org")
    profile(app, ada, language="fr", attributes={"loyalty_tier": "Gold", "vip": True},
            consents={"marketing_email": True})
    profile(app, bob, language="en-GB", timezone="Europe/London",
            attributes={"loyalty_tier": "silver", "vip": False},
            consents={"marketing_email": False})
    conversation(app, make, ada, days_ago=60, rating=5)
    conversation(app, make, ada, days_ago=20, rating=2)
    conversation(app, make, ada, days_ago=10, status=ConversationStatus.CLOSED)
    conversation(app, make, ada, Channel.PHONE, days_ago=1)
    conversation(app, make, bob, Channel.CHAT, days_ago=40, rating=5)
    return {"Ada": ada.id, "Bob": bob.id, "Cy": cy.id}


def members(app, conditions) -> set[int]:
    with app.app_context():
        query = segments.matching_ids(segments.parse(conditions))
        return set(db.session.scalars(query))


def test_each_condition_selects_the_right_customers(app, people):
    def c(field, op, value, **extra):
        return {"all": [{"field": field, "op": op, "value": value, **extra}]}
    expected = [
        (c("language", "is", "FR"), {"Ada"}),
        (c("language", "is_not", "fr"), {"Bob", "Cy"}),
        (c("language", "starts_with", "en"), {"Bob"}),
        (c("language", "in", ["fr", "de"]), {"Ada"}),
        (c("language", "exists", False), {"Cy"}),
        (c("timezone", "is", "europe/london"), {"Bob"}),
        (c("attribute", "is", "gold", key="loyalty_tier"), {"Ada"}),
        (c("attribute", "is_not", "gold", key="loyalty_tier"), {"Bob", "Cy"}),
        (c("attribute", "contains", "ILV", key="loyalty_tier"), {"Bob"}),
        (c("attribute", "is", "true", key="vip"), {"Ada"}),
        (c("attribute", "is", "false", key="vip"), {"Bob"}),
        (c("attribute", "exists", True, key="vip"), {"Ada", "Bob"}),
        (c("consent", "is", True, key="marketing_email"), {"Ada"}),
        (c("consent", "is", False, key="marketing_email"), {"Bob", "Cy"}),
        (c("email_domain", "is", "maison.example"), {"Ada"}),
        (c("email_domain", "is_not", "maison.example"), {"Bob", "Cy"}),
        (c("contacts", "gte", 3, days=30), {"Ada"}),
        (c("contacts", "is", 0, days=30), {"Bob", "Cy"}),
        (c("contacts", "gt", 0, days=45), {"Ada", "Bob"}),
        (c("last_csat", "lte", 2), {"Ada"}),
        (c("last_csat", "is", 5), {"Bob"}),
        (c("last_csat", "is_not", 5), {"Ada", "Cy"}),
        (c("open_conversation", "is", True), {"Ada"}),
        (c("open_conversation", "is", False), {"Bob", "Cy"}),
        (c("channel_used", "is", "chat"), {"Bob"}),
        (c("channel_used", "in", ["chat", "phone"], days=30), {"Ada"}),
        (c("channel_used", "is_not", "email"), {"Bob", "Cy"}),
        ({"any": [c("language", "is", "fr"), c("last_csat", "is", 5)]}, {"Ada", "Bob"}),
        ({"all": [{"any": []}]}, set()),
        ({"all": []}, {"Ada", "Bob", "Cy"}),
    ]
    names = {ident: name for name, ident in people.items()}
    found = [(conditions, {names[i] for i in members(app, conditions)})
             for conditions, _names in expected]
    assert found == expected


def test_merged_away_customers_are_never_members(app, make, people):
    with app.app_context(), unit_of_work() as uow:
        customer_merges.merge_customers(uow, SYSTEM, people["Cy"], people["Bob"])
    assert members(app, {"all": []}) == {people["Ada"], people["Bob"]}


def test_member_ids_filters_conversations_customers_and_saved_views(app, make, people):
    gold = make.segment(conditions={"all": [
        {"field": "attribute", "key": "loyalty_tier", "op": "is", "value": "gold"}]})
    with app.app_context():
        assert {c.customer_id for c in queries.list_conversations(
            db.session, ConversationFilter(segment_id=gold.id), per_page=50).items} == {
            people["Ada"]}
        assert [c.name for c in queries.list_customers(
            db.session, segment_id=gold.id).items] == ["Ada"]
        assert set(db.session.scalars(select(Customer.name).where(
            Customer.id.in_(segments.member_ids(db.session, gold.id))))) == {"Ada"}
        with pytest.raises(NotFound) as missing:
            segments.member_ids(db.session, 999_999)
        assert missing.value.field == "segment_id"
    view = make.saved_view(segment_id=gold.id)
    with app.app_context():
        assert saved_views.count_view(db.session, view, 1) == 4


def test_a_shared_view_uses_shared_segments_only(app, make):
    agent = make.user()
    mine = make.segment(agent)
    own_view = make.saved_view(agent, segment_id=mine.id)
    assert own_view.filters == {"segment_id": mine.id}
    with pytest.raises(ValidationFailed, match="a shared view uses shared segments only"):
        make.saved_view(segment_id=mine.id)
    with app.app_context(), unit_of_work() as uow, \
            pytest.raises(ValidationFailed) as refused:
        saved_views.update_view(uow, Actor("agent", agent.id), own_view.id, shared=True,
                                may_share=True)
    assert refused.value.field == "filters.segment_id"
    someone = make.user()
    with pytest.raises(ValidationFailed, match="nor one of yours"):
        make.saved_view(someone, segment_id=mine.id)


def test_personal_and_shared_segments_and_who_manages_them(app, make):
    agent, other = make.user(), make.user(Role.SUPERVISOR)
    me = Actor("agent", agent.id)
    shared = make.segment(name="VIP")
    with app.app_context(), unit_of_work() as uow:
        with pytest.raises(PermissionDenied):
            segments.create_segment(uow, me, name="Team", conditions={"all": []}, shared=True)
        mine = segments.create_segment(uow, me, name="VIP", conditions={"all": []},
                                       description=" mine ")
        with pytest.raises(Conflict):
            segments.create_segment(uow, me, name=" VIP ", conditions={"all": []})
        with pytest.raises(PermissionDenied):
            segments.update_segment(uow, me, shared.id, name="Renamed")
        segments.update_segment(uow, me, mine.id, conditions={"all": [
            {"field": "language", "op": "is", "value": "fr"}]})
        assert [s.name for s in segments.visible_segments(uow.session, agent.id)] == [
            "VIP", "VIP"]
        assert [s.id for s in segments.visible_segments(uow.session, other.id)] == [shared.id]
        with pytest.raises(NotFound):
            segments.visible_segment(uow.session, other.id, mine.id)
        with pytest.raises(NotFound):
            segments.delete_segment(uow, Actor("agent", other.id), mine.id, may_share=True)
        stored = segments.visible_segment(uow.session, agent.id, mine.id)
        assert (stored.description, stored.conditions) == ("mine", {"all": [
            {"field": "language", "op": "is", "value": "fr"}]})


def test_a_segment_a_saved_view_uses_cannot_be_deleted(app, make):
    used = make.segment()
    view = make.saved_view(segment_id=used.id)
    with app.app_context(), unit_of_work() as uow, pytest.raises(Conflict, match=view.name):
        segments.delete_segment(uow, SYSTEM, used.id, may_share=True)
    with app.app_context(), unit_of_work() as uow:
        saved_views.update_view(uow, SYSTEM, view.id, filters=ViewFilters(), may_share=True)
        segments.delete_segment(uow, SYSTEM, used.id, may_share=True)
        assert segments.visible_segments(uow.session, 1) == []


def test_bad_conditions_are_refused_when_saved(app, make):
    with app.app_context(), unit_of_work() as uow, \
            pytest.raises(ValidationFailed) as refused:
        segments.create_segment(uow, SYSTEM, name="Bad", shared=True, may_share=True,
                                conditions={"all": [{"field": "contacts", "op": "gte",
                                                     "value": 3}]})
    assert refused.value.field == "conditions.all[0].days"
