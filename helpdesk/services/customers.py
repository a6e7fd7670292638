"""Customers and their identities: create, identify, update (merging: customer_merges)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    CONSENT_FLAGS,
    Conversation,
    Customer,
    FieldSubject,
    Identity,
    IdentityKind,
    MergeReason,
)
from helpdesk.services import customer_merges, organisations
from helpdesk.services.common import get_or_404
from helpdesk.services.custom_fields import merged_values
from helpdesk.uow import UnitOfWork

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9]{4,20}$")
PROFILE_FIELDS = ("name", "language", "timezone", "attributes", "consents", "organisation_id")


def normalize_identity(kind: IdentityKind, value: str) -> str:
    """Canonical form of an identity value, so one address is one identity."""
    value = value.strip()
    if kind == IdentityKind.EMAIL:
        value = value.lower()
        if not EMAIL_RE.match(value):
            raise ValidationFailed(f"{value!r} is not an email address", field="value")
    elif kind == IdentityKind.PHONE:
        value = re.sub(r"[\s().-]", "", value)
        if not PHONE_RE.match(value):
            raise ValidationFailed(f"{value!r} is not a phone number", field="value")
    elif not value:
        raise ValidationFailed("identity value must not be empty", field="value")
    return value


def find_by_identity(session: Session, kind: IdentityKind, value: str) -> Customer | None:
    value = normalize_identity(kind, value)
    return find_by_identities(session, kind, [value]).get(value)


def find_by_identities(session: Session, kind: IdentityKind,
                       values: Iterable[str]) -> dict[str, Customer]:
    """The customers owning these identities (in canonical form), by value, in one query;
    unknown values are left out."""
    wanted = set(values)
    if not wanted:
        return {}
    rows = session.execute(select(Identity.value, Customer)
                           .join_from(Identity, Customer, Identity.customer_id == Customer.id)
                           .where(Identity.kind == kind, Identity.value.in_(wanted)))
    return dict(rows.all())


def create_customer(uow: UnitOfWork, actor: Actor, *, name: str = "",
                    identities: list[tuple[IdentityKind, str]] = (),
                    **profile: Any) -> Customer:
    """Create a customer with optional identities (each must be free); without an
    organisation, one owning the domain of their email address takes them in."""
    customer = _new_customer(uow, actor, name, profile)
    for kind, value in identities:
        _attach_identity(uow, actor, customer, kind, value, verified=False)
    organisations.link_by_email_domain(uow, customer)
    uow.commit()
    return customer


def identify(uow: UnitOfWork, actor: Actor, kind: IdentityKind, value: str, *,
             name: str = "", verified: bool = False) -> Customer:
    """Return the customer owning this identity, creating both when unknown."""
    existing = find_by_identity(uow.session, kind, value)
    if existing is not None:
        return existing
    try:
        with uow.savepoint():  # a conflict undoes the creation only, not the caller's work
            customer = _new_customer(uow, actor, name, {})
            # Just looked up, so no check: a concurrent owner fails the insert instead.
            _add_identity(uow, actor, customer, kind, normalize_identity(kind, value),
                          verified=verified)
            organisations.link_by_email_domain(uow, customer)
    except (Conflict, IntegrityError):
        # A concurrent call created this identity first: it is the answer.
        customer = find_by_identity(uow.session, kind, value)
        if customer is None:
            raise
        return customer
    uow.commit()
    return customer


def update_customer(uow: UnitOfWork, actor: Actor, customer_id: int,
                    **changes: Any) -> Customer:
    """Change profile fields; records what changed in the timeline.

    ``attributes`` (checked against the customer attribute definitions) and ``consents``
    change the keys given, ``None`` clearing one; ``organisation_id`` moves the customer
    to that organisation (``None``: none).
    """
    customer = get_or_404(uow.session, Customer, customer_id)
    _check_profile(changes)
    organisation_id = changes.pop("organisation_id", customer.organisation_id)
    diff = _profile_changes(uow.session, customer, changes)
    for key, (value, _changed) in diff.items():
        setattr(customer, key, value)
    if diff:
        uow.record(events.CustomerUpdated(actor=actor, customer_id=customer.id, changes={
            key: changed for key, (_value, changed) in diff.items()}))
    organisations.set_organisation(uow, actor, customer, organisation_id)
    uow.commit()
    return customer


def add_identity(uow: UnitOfWork, actor: Actor, customer_id: int, kind: IdentityKind,
                 value: str, *, verified: bool = False, may_merge: bool = False) -> Identity:
    """Attach an identity that no other customer has. One that another customer has too,
    verified there as here, shows both are one person: with ``may_merge``, that customer
    is merged into this one (an undoable merge; see customer_merges)."""
    customer = get_or_404(uow.session, Customer, customer_id)
    twin = _verified_twin(uow.session, customer, kind, value) if verified and may_merge else None
    if twin is not None:
        with uow.one_transaction():
            customer_merges.merge_customers(uow, actor, twin.customer_id, customer_id,
                                            reason=MergeReason.VERIFIED_IDENTITY)
            return uow.session.get_one(Identity, twin.id)  # loaded before the commit
    identity = _attach_identity(uow, actor, customer, kind, value, verified=verified)
    uow.commit()
    return identity


def remove_identity(uow: UnitOfWork, actor: Actor, customer_id: int, identity_id: int) -> None:
    identity = get_or_404(uow.session, Identity, identity_id)
    if identity.customer_id != customer_id:
        # Same answer as an unknown id: one customer's URL must not reveal another's identities.
        raise NotFound(f"customer {customer_id} has no identity {identity_id}",
                       field="identity_id")
    uow.session.delete(identity)
    uow.record(events.IdentityRemoved(actor=actor, customer_id=customer_id,
                                      kind=identity.kind.value, value=identity.value))
    uow.commit()


def delete_customer(uow: UnitOfWork, actor: Actor, customer_id: int) -> None:
    """Delete a customer who has no conversations (erasure of history is its own flow)."""
    customer = get_or_404(uow.session, Customer, customer_id)
    has_conversations = uow.session.scalar(
        select(func.count()).where(Conversation.customer_id == customer_id))
    if has_conversations:
        raise Conflict(f"customer {customer_id} has conversations; merge or erase instead")
    if uow.session.scalar(select(Customer.id).where(Customer.merged_into_id == customer_id)):
        raise Conflict(f"customers were merged into customer {customer_id}; "
                       "their history lives here")
    uow.session.delete(customer)
    uow.record(events.StaffChanged(actor=actor, action="customer.deleted",
                                   target_type="customer", target_id=customer_id))
    uow.commit()


def _verified_twin(session: Session, customer: Customer, kind: IdentityKind,
                   value: str) -> Identity | None:
    """The identity, verified, of another customer still on their own."""
    identity = session.scalar(select(Identity).where(
        Identity.kind == kind, Identity.value == normalize_identity(kind, value)))
    if identity is None or not identity.verified or identity.customer_id == customer.id:
        return None
    return identity if identity.customer.merged_into_id is None else None


def _profile_changes(session: Session, customer: Customer,
                     changes: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Per field that changes: its new value, and the change to record (for attributes
    and consents, only the keys that change)."""
    diff = {k: (v, v) for k, v in changes.items()
            if k not in ("attributes", "consents") and getattr(customer, k) != v}
    if changes.get("attributes"):
        merged, changed = merged_values(session, FieldSubject.CUSTOMER, customer.attributes,
                                        changes["attributes"])
        diff.update({"attributes": (merged, changed)} if changed else {})
    if changes.get("consents"):
        merged = _merged_consents(customer.consents, changes["consents"])
        changed = {k: v for k, v in changes["consents"].items()
                   if customer.consents.get(k) != v}
        diff.update({"consents": (merged, changed)} if changed else {})
    return diff


def _merged_consents(current: dict[str, Any], given: dict[str, bool | None]) -> dict[str, Any]:
    """``None`` forgets the answer (not asked)."""
    return {k: v for k, v in {**current, **given}.items() if v is not None}


def _new_customer(uow: UnitOfWork, actor: Actor, name: str, profile: dict[str, Any]) -> Customer:
    _check_profile(profile)
    organisation_id = profile.pop("organisation_id", None)
    blank = Customer(attributes={}, consents={})  # checked as changes to a blank profile
    values = {k: v for k, (v, _changed) in _profile_changes(uow.session, blank,
                                                            profile).items()}
    customer = Customer(name=name.strip(), identities=[], **values)  # known empty: no load
    uow.session.add(customer)
    uow.session.flush()
    uow.record(events.CustomerCreated(actor=actor, customer_id=customer.id, name=customer.name))
    organisations.set_organisation(uow, actor, customer, organisation_id)
    return customer


def _attach_identity(uow: UnitOfWork, actor: Actor, customer: Customer, kind: IdentityKind,
                     value: str, *, verified: bool) -> Identity:
    value = normalize_identity(kind, value)
    owner = find_by_identity(uow.session, kind, value)
    if owner is not None:
        raise Conflict(f"{kind.value} {value} already belongs to customer {owner.id}",
                       field="value")
    return _add_identity(uow, actor, customer, kind, value, verified=verified)


def _add_identity(uow: UnitOfWork, actor: Actor, customer: Customer, kind: IdentityKind,
                  value: str, *, verified: bool) -> Identity:
    identity = Identity(kind=kind, value=value, verified=verified)
    customer.identities.append(identity)
    uow.session.flush()
    uow.record(events.IdentityAdded(actor=actor, customer_id=customer.id, kind=kind.value,
                                    value=value))
    return identity


def _check_profile(profile: dict[str, Any]) -> None:
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown customer field(s): {', '.join(sorted(unknown))}",
                               field=sorted(unknown)[0])
    for name in ("attributes", "consents"):
        if not isinstance(profile.get(name) or {}, dict):
            raise ValidationFailed(f"{name} is an object of values by key", field=name)
    consents = profile.get("consents") or {}
    bad = [k for k, v in consents.items()
           if k not in CONSENT_FLAGS or not isinstance(v, bool | None)]
    if bad:
        raise ValidationFailed(
            f"consents: {bad[0]!r} is not a consent flag ({', '.join(CONSENT_FLAGS)}) "
            "with a true/false (or null: not asked) value", field="consents")
