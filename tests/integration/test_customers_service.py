"""Customers and identities against a real database (SQLite and PostgreSQL)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import unit_of_work
from helpdesk.models import (
    AuditLog,
    Customer,
    Identity,
    IdentityKind,
    TimelineEvent,
)
from helpdesk.services import customers

K = IdentityKind


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def history(session, customer_id):
    return list(session.scalars(select(TimelineEvent.type)
                                .where(TimelineEvent.customer_id == customer_id)
                                .order_by(TimelineEvent.id)))


def test_create_normalizes_identities_and_records_the_history(uow):
    customer = customers.create_customer(
        uow, SYSTEM, name="  Ada Lovelace ", language="en",
        identities=[(K.EMAIL, " Ada@Example.COM"), (K.PHONE, "+33 6 12 34 56 78")])
    assert customer.name == "Ada Lovelace"
    assert customer.identity_values(K.EMAIL) == ["ada@example.com"]
    assert customer.identity_values(K.PHONE) == ["+33612345678"]
    assert history(uow.session, customer.id) == ["customer.created", "identity.added",
                                                 "identity.added"]


def test_identify_finds_the_owner_of_a_known_identity(make, uow):
    known = make.customer(email="grace@example.com")
    found = customers.identify(uow, SYSTEM, K.EMAIL, "  GRACE@example.com ")
    assert found.id == known.id
    assert count(uow.session, Customer) == 1


def test_identify_creates_an_unknown_person(uow):
    created = customers.identify(uow, SYSTEM, K.VISITOR, "v-123", name="Visitor", verified=True)
    [identity] = created.identities
    assert (created.name, identity.kind, identity.value, identity.verified) == (
        "Visitor", K.VISITOR, "v-123", True)
    assert customers.identify(uow, SYSTEM, K.VISITOR, "v-123").id == created.id


def test_concurrent_identify_of_a_new_person_creates_one_customer(app, uow):
    start = threading.Barrier(4)

    def identify(_):
        with app.app_context(), unit_of_work() as own:
            start.wait()
            return customers.identify(own, SYSTEM, K.EMAIL, "new@example.com").id

    with ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(identify, range(4)))
    assert len(ids) == 1
    assert (count(uow.session, Customer), count(uow.session, Identity)) == (1, 1)


def test_identify_refuses_an_invalid_value(uow):
    with pytest.raises(ValidationFailed) as refused:
        customers.identify(uow, SYSTEM, K.PHONE, "not a phone")
    assert refused.value.field == "value"


def test_a_taken_identity_is_a_conflict_naming_the_field_and_nothing_is_written(make, app):
    make.customer(email="ada@example.com")
    with app.app_context(), unit_of_work() as uow:
        with pytest.raises(Conflict) as refused:
            customers.create_customer(uow, SYSTEM, name="Twin",
                                      identities=[(K.PHONE, "+1 555 0100"),
                                                  (K.EMAIL, "ADA@example.com")])
        assert refused.value.field == "value"
    with app.app_context(), unit_of_work() as uow:
        assert count(uow.session, Customer) == 1
        assert count(uow.session, Identity) == 1


def test_update_changes_only_what_differs_and_records_it(make, uow):
    customer = make.customer(name="Ada")
    customers.update_customer(uow, Actor("agent", None), customer.id, name="Ada",
                              language="fr", consents={"marketing_email": True})
    stored = uow.session.get(Customer, customer.id)
    assert (stored.language, stored.consents) == ("fr", {"marketing_email": True})
    [event] = uow.session.scalars(select(TimelineEvent).where(
        TimelineEvent.type == "customer.updated"))
    assert event.payload == {"changes": {"language": "fr",
                                         "consents": {"marketing_email": True}}}


def test_an_update_that_changes_nothing_records_nothing(make, uow):
    customer = make.customer(name="Ada")
    customers.update_customer(uow, SYSTEM, customer.id, name="Ada")
    assert "customer.updated" not in history(uow.session, customer.id)


def test_update_refuses_bad_fields_naming_them(make, uow):
    customer = make.customer()
    for changes, field in [({"email": "x@example.com"}, "email"),
                           ({"consents": {"spam_me": True}}, "consents"),
                           ({"consents": {"marketing_sms": "yes"}}, "consents")]:
        with pytest.raises(ValidationFailed) as refused:
            customers.update_customer(uow, SYSTEM, customer.id, **changes)
        assert refused.value.field == field, changes


def test_update_of_an_unknown_customer_is_not_found(uow):
    with pytest.raises(NotFound) as missing:
        customers.update_customer(uow, SYSTEM, 4040, name="x")
    assert (missing.value.field, missing.value.message) == ("customer_id",
                                                            "customer 4040 does not exist")


def test_add_then_remove_an_identity(make, uow):
    customer = make.customer()
    identity = customers.add_identity(uow, SYSTEM, customer.id, K.PHONE, "(555) 010-0199")
    customers.remove_identity(uow, Actor("agent", None), customer.id, identity.id)
    assert uow.session.get(Identity, identity.id) is None
    removed = uow.session.scalars(select(TimelineEvent).where(
        TimelineEvent.type == "identity.removed")).one()
    assert removed.payload == {"kind": "phone", "value": "5550100199"}


def test_removing_another_customers_identity_is_refused(make, uow):
    owner, other = make.customer(), make.customer()
    identity_id = owner.identities[0].id
    with pytest.raises(NotFound) as refused:
        customers.remove_identity(uow, SYSTEM, other.id, identity_id)
    assert refused.value.field == "identity_id"
    assert uow.session.get(Identity, identity_id) is not None


def test_removing_an_unknown_identity_names_it(make, uow):
    customer = make.customer()
    with pytest.raises(NotFound) as missing:
        customers.remove_identity(uow, SYSTEM, customer.id, 9999)
    assert (missing.value.field, missing.value.message) == ("identity_id",
                                                            "identity 9999 does not exist")


def test_delete_is_refused_while_the_customer_has_conversations(make, uow):
    conversation = make.conversation()
    with pytest.raises(Conflict):
        customers.delete_customer(uow, SYSTEM, conversation.customer_id)
    assert uow.session.get(Customer, conversation.customer_id) is not None


def test_delete_removes_the_customer_their_identities_and_history(make, uow):
    customer = make.customer()
    customers.delete_customer(uow, Actor("agent", make.user().id), customer.id)
    assert uow.session.get(Customer, customer.id) is None
    assert count(uow.session, Identity) == 0
    assert count(uow.session, TimelineEvent) == 0
    assert uow.session.scalars(select(AuditLog.action)).all() == ["customer.deleted"]
