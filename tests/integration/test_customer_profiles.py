"""Customer attributes checked against their definitions, consents, and organisations
(SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.models import (
    AuditLog,
    Customer,
    CustomFieldDefinition,
    IdentityKind,
    Organisation,
    OrganisationDomain,
    TimelineEvent,
)
from helpdesk.services import custom_fields, customer_merges, customers, organisations

K = IdentityKind


@pytest.fixture
def attributes(uow):
    for key, type_, options in [("birthday", "date", ()), ("orders", "number", ()),
                                ("tier", "select", ("silver", "gold")),
                                ("newsletter", "checkbox", ()), ("city", "text", ())]:
        custom_fields.create_field(uow, SYSTEM, subject="customer", key=key, type=type_,
                                   label=key.title(), options=options)


def events_of(session, customer_id: int, type_: str) -> list[TimelineEvent]:
    return list(session.scalars(select(TimelineEvent).where(
        TimelineEvent.customer_id == customer_id, TimelineEvent.type == type_)
        .order_by(TimelineEvent.id)))


# --- attributes ----------------------------------------------------------------------------

def test_attributes_are_checked_merged_and_cleared_by_key(make, uow, attributes):
    customer = make.customer()
    customers.update_customer(uow, SYSTEM, customer.id, attributes={
        "birthday": "1990-04-01", "orders": 3, "tier": "gold", "newsletter": True,
        "city": " Lyon "})
    customers.update_customer(uow, SYSTEM, customer.id, attributes={"city": None, "orders": 4,
                                                                    "tier": "gold"})
    stored = uow.session.get(Customer, customer.id)
    assert stored.attributes == {"birthday": "1990-04-01", "orders": 4, "tier": "gold",
                                 "newsletter": True}
    changes = [e.payload["changes"] for e in events_of(uow.session, customer.id,
                                                       "customer.updated")]
    assert changes[-1] == {"attributes": {"city": None, "orders": 4}}


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"tier": "platinum"}, "attributes.tier", "Tier (tier): must be one of silver, gold"),
    ({"birthday": "01/04/1990"}, "attributes.birthday", "Birthday (birthday): must be a date"),
    ({"orders": "3"}, "attributes.orders", "Orders (orders): must be a number"),
    ({"plan": "pro"}, "attributes.plan", "no customer attribute has the key 'plan'"),
])
def test_a_bad_attribute_is_refused_naming_it(make, uow, attributes, values, field, message):
    customer = make.customer()
    for attempt in (lambda: customers.update_customer(uow, SYSTEM, customer.id,
                                                      attributes=values),
                    lambda: customers.create_customer(uow, SYSTEM, name="X",
                                                      attributes=values)):
        with pytest.raises(ValidationFailed) as refused:
            attempt()
        assert (refused.value.field, refused.value.message[:len(message)]) == (field, message)
        uow.rollback()
    assert uow.session.get(Customer, customer.id).attributes == {}


def test_a_key_is_unique_per_subject_and_only_conversations_require_fields(uow):
    custom_fields.create_field(uow, SYSTEM, key="tier", label="Tier", type="text")
    custom_fields.create_field(uow, SYSTEM, key="tier", label="Tier", type="text",
                               subject="customer")
    with pytest.raises(Conflict) as taken:
        custom_fields.create_field(uow, SYSTEM, key="tier", label="Tier", type="text",
                                   subject="customer")
    assert "customer attribute" in taken.value.message
    uow.rollback()
    for subject, field in (("customer", "required_on_solve"), ("company", "subject")):
        with pytest.raises(ValidationFailed) as refused:
            custom_fields.create_field(uow, SYSTEM, key="vip", label="VIP", type="checkbox",
                                       subject=subject, required_on_solve=True)
        assert refused.value.field == field
        uow.rollback()
    assert [d.subject.value for d in uow.session.scalars(select(CustomFieldDefinition))] == [
        "conversation", "customer"]


def test_consents_change_by_flag_and_null_forgets_the_answer(make, uow):
    customer = make.customer()
    customers.update_customer(uow, SYSTEM, customer.id,
                              consents={"marketing_email": True, "marketing_sms": False})
    customers.update_customer(uow, SYSTEM, customer.id,
                              consents={"marketing_sms": None, "call_recording": True})
    assert uow.session.get(Customer, customer.id).consents == {"marketing_email": True,
                                                               "call_recording": True}


# --- organisations -------------------------------------------------------------------------

def test_an_organisation_s_domains_are_cleaned_and_unique(uow):
    lumen = organisations.create_organisation(uow, SYSTEM, name=" Atelier Lumen ",
                                              domains=["@Lumen.example", "lumen.example"])
    assert (lumen.name, lumen.domains) == ("Atelier Lumen", ["lumen.example"])
    for kwargs, error, field in [
            ({"name": "atelier lumen"}, Conflict, "name"),
            ({"name": "Other", "domains": ["LUMEN.example"]}, Conflict, "domains"),
            ({"name": "Other", "domains": ["not a domain"]}, ValidationFailed, "domains"),
            ({"name": "  "}, ValidationFailed, "name")]:
        with pytest.raises(error) as refused:
            organisations.create_organisation(uow, SYSTEM, **kwargs)
        assert refused.value.field == field, kwargs
        uow.rollback()
    organisations.update_organisation(uow, SYSTEM, lumen.id,
                                      domains=["lumen.example", "lumen-pro.example"])
    assert sorted(uow.session.scalars(select(OrganisationDomain.domain))) == [
        "lumen-pro.example", "lumen.example"]


def test_organisation_attributes_are_checked_against_their_definitions(uow):
    custom_fields.create_field(uow, SYSTEM, key="plan", label="Plan", type="select",
                               options=["retail", "trade"], subject="organisation")
    lumen = organisations.create_organisation(uow, SYSTEM, name="Lumen",
                                              attributes={"plan": "trade"})
    with pytest.raises(ValidationFailed) as refused:
        organisations.update_organisation(uow, SYSTEM, lumen.id, attributes={"plan": "gold"})
    assert refused.value.field == "attributes.plan"
    uow.rollback()
    organisations.update_organisation(uow, SYSTEM, lumen.id, attributes={"plan": None},
                                      notes="Pays at 30 days")
    stored = uow.session.get(Organisation, lumen.id)
    assert (stored.attributes, stored.notes) == ({}, "Pays at 30 days")


def test_a_new_customer_joins_the_organisation_of_their_email_domain(make, uow):
    lumen = organisations.create_organisation(uow, SYSTEM, name="Lumen",
                                              domains=["lumen.example"])
    created = make.customer(email="Jo@LUMEN.example")
    identified = customers.identify(uow, SYSTEM, K.EMAIL, "max@lumen.example")
    elsewhere = make.customer(email="jo@other.example")
    assert [uow.session.get(Customer, c.id).organisation_id
            for c in (created, identified, elsewhere)] == [lumen.id, lumen.id, None]
    [joined] = events_of(uow.session, created.id, "customer.organisation_changed")
    assert (joined.actor_kind, joined.payload) == ("system", {
        "from": None, "to": lumen.id, "name": "Lumen", "automatic": True})


def test_members_are_added_moved_and_removed_with_their_history(make, uow):
    lumen, other = (organisations.create_organisation(uow, SYSTEM, name=n)
                    for n in ("Lumen", "Other"))
    agent = Actor("agent", make.user().id)
    customer = make.customer()
    organisations.add_member(uow, agent, lumen.id, customer.id)
    customers.update_customer(uow, agent, customer.id, organisation_id=other.id)
    with pytest.raises(NotFound) as refused:
        organisations.remove_member(uow, agent, lumen.id, customer.id)
    assert refused.value.field == "customer_id"
    organisations.remove_member(uow, agent, other.id, customer.id)
    moves = [(e.payload["from"], e.payload["to"]) for e in events_of(
        uow.session, customer.id, "customer.organisation_changed")]
    assert moves == [(None, lumen.id), (lumen.id, other.id), (other.id, None)]
    assert uow.session.scalars(select(AuditLog.action).where(
        AuditLog.user_id == agent.id)).all() == ["customer.organisation_changed"] * 3
    with pytest.raises(NotFound) as missing:
        customers.update_customer(uow, agent, customer.id, organisation_id=999)
    assert missing.value.field == "organisation_id"


def test_deleting_an_organisation_keeps_its_members(make, uow):
    lumen = organisations.create_organisation(uow, SYSTEM, name="Lumen",
                                              domains=["lumen.example"])
    member = make.customer(email="jo@lumen.example")
    organisations.delete_organisation(uow, SYSTEM, lumen.id)
    assert uow.session.get(Customer, member.id).organisation_id is None
    assert uow.session.scalars(select(OrganisationDomain)).all() == []
    assert [e.payload["to"] for e in events_of(uow.session, member.id,
                                               "customer.organisation_changed")] == [
        lumen.id, None]


def test_members_list_and_recent_conversations(make, uow):
    lumen = organisations.create_organisation(uow, SYSTEM, name="Lumen",
                                              domains=["lumen.example"])
    ada, bob = (make.customer(name, email=f"{name.lower()}@lumen.example")
                for name in ("Ada", "Bob"))
    gone = make.customer("Zed", email="zed@lumen.example")
    customer_merges.merge_customers(uow, SYSTEM, gone.id, ada.id)
    first, latest = make.conversation(customer=ada), make.conversation(customer=bob)
    make.conversation()  # another organisation's customer
    page = organisations.members(uow.session, lumen.id)
    assert ([c.name for c in page.items], page.total) == (["Ada", "Bob"], 2)
    assert [c.id for c in organisations.recent_conversations(uow.session, lumen.id)] == [
        latest.id, first.id]


def test_organisations_are_found_by_name_or_domain(uow):
    for name, domain in (("Lumen", "lumen.example"), ("Verre & Co", "verre.example")):
        organisations.create_organisation(uow, SYSTEM, name=name, domains=[domain])
    assert [o.name for o in organisations.list_organisations(uow.session).items] == [
        "Lumen", "Verre & Co"]
    assert [o.name for o in organisations.list_organisations(
        uow.session, search="VERRE.ex").items] == ["Verre & Co"]
    assert [o.name for o in organisations.list_organisations(
        uow.session, search="lum").items] == ["Lumen"]
