"""Customers and their identities: create, identify, update, merge."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    CONSENT_FLAGS,
    AuthorKind,
    Conversation,
    Customer,
    Identity,
    IdentityKind,
    Message,
    TimelineEvent,
)
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9]{4,20}$")
PROFILE_FIELDS = ("name", "language", "timezone", "attributes", "consents")


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
    identity = session.scalar(select(Identity).where(Identity.kind == kind,
                                                     Identity.value == value))
    return identity.customer if identity else None


def create_customer(uow: UnitOfWork, actor: Actor, *, name: str = "",
                    identities: list[tuple[IdentityKind, str]] = (),
                    **profile: Any) -> Customer:
    """Create a customer with optional identities (each must be free)."""
    customer = _new_customer(uow, actor, name, profile)
    for kind, value in identities:
        _attach_identity(uow, actor, customer, kind, value, verified=False)
    uow.commit()
    return customer


def identify(uow: UnitOfWork, actor: Actor, kind: IdentityKind, value: str, *,
             name: str = "", verified: bool = False) -> Customer:
    """Return the customer owning this identity, creating both when unknown."""
    existing = find_by_identity(uow.session, kind, value)
    if existing is not None:
        return existing
    try:
        customer = _new_customer(uow, actor, name, {})
        _attach_identity(uow, actor, customer, kind, value, verified=verified)
        uow.commit()
    except (Conflict, IntegrityError):
        # A concurrent call created this identity first: it is the answer.
        uow.rollback()
        customer = find_by_identity(uow.session, kind, value)
        if customer is None:
            raise
    return customer


def update_customer(uow: UnitOfWork, actor: Actor, customer_id: int,
                    **changes: Any) -> Customer:
    """Change profile fields; records what changed in the timeline."""
    customer = get_or_404(uow.session, Customer, customer_id)
    _check_profile(changes)
    diff = {k: v for k, v in changes.items() if getattr(customer, k) != v}
    for key, value in diff.items():
        setattr(customer, key, value)
    if diff:
        uow.record(events.CustomerUpdated(actor=actor, customer_id=customer.id, changes=diff))
    uow.commit()
    return customer


def add_identity(uow: UnitOfWork, actor: Actor, customer_id: int, kind: IdentityKind,
                 value: str, *, verified: bool = False) -> Identity:
    customer = get_or_404(uow.session, Customer, customer_id)
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


def merge_customers(uow: UnitOfWork, actor: Actor, source_id: int, target_id: int) -> Customer:
    """Fold ``source`` into ``target``: identities, conversations and history move over."""
    if source_id == target_id:
        raise ValidationFailed("a customer cannot be merged into itself", field="source_id")
    # Lock both rows in id order, so two opposite merges cannot deadlock.
    locked = {i: get_or_404(uow.session, Customer, i, lock=True,
                            field="source_id" if i == source_id else "target_id")
              for i in sorted((source_id, target_id))}
    source, target = locked[source_id], locked[target_id]
    if source.merged_into_id is not None:
        raise Conflict(f"customer {source_id} was already merged", field="source_id")
    if target.merged_into_id is not None:
        raise Conflict(f"customer {target_id} was merged into customer "
                       f"{target.merged_into_id}; merge into that one", field="target_id")
    for identity in list(source.identities):
        identity.customer = target
    for model in (Conversation, TimelineEvent):
        uow.session.execute(update(model).where(model.customer_id == source_id)
                            .values(customer_id=target_id))
    _reattribute_authorship(uow, source_id, target_id)
    # Customers merged earlier into the source now point straight at the target.
    uow.session.execute(update(Customer).where(Customer.merged_into_id == source_id)
                        .values(merged_into_id=target_id))
    _merge_profile(source, target)
    source.merged_into_id = target.id
    uow.record(events.CustomersMerged(actor=actor, customer_id=target.id, source_id=source_id))
    uow.commit()
    return target


def _reattribute_authorship(uow: UnitOfWork, source_id: int, target_id: int) -> None:
    """What the source customer wrote or did is now the target's."""
    uow.session.execute(update(Message).where(Message.author_kind == AuthorKind.CUSTOMER,
                                              Message.author_id == source_id)
                        .values(author_id=target_id))
    uow.session.execute(update(TimelineEvent).where(TimelineEvent.actor_kind == "customer",
                                                    TimelineEvent.actor_id == source_id)
                        .values(actor_id=target_id))


def _merge_profile(source: Customer, target: Customer) -> None:
    target.name = target.name or source.name
    target.language = target.language or source.language
    target.timezone = target.timezone or source.timezone
    target.attributes = {**source.attributes, **target.attributes}
    target.consents = {**source.consents, **target.consents}


def _new_customer(uow: UnitOfWork, actor: Actor, name: str, profile: dict[str, Any]) -> Customer:
    _check_profile(profile)
    customer = Customer(name=name.strip(), **profile)
    uow.session.add(customer)
    uow.session.flush()
    uow.record(events.CustomerCreated(actor=actor, customer_id=customer.id, name=customer.name))
    return customer


def _attach_identity(uow: UnitOfWork, actor: Actor, customer: Customer, kind: IdentityKind,
                     value: str, *, verified: bool) -> Identity:
    value = normalize_identity(kind, value)
    owner = find_by_identity(uow.session, kind, value)
    if owner is not None:
        raise Conflict(f"{kind.value} {value} already belongs to customer {owner.id}",
                       field="value")
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
    consents = profile.get("consents") or {}
    bad = [k for k, v in consents.items() if k not in CONSENT_FLAGS or not isinstance(v, bool)]
    if bad:
        raise ValidationFailed(
            f"consents: {bad[0]!r} is not a consent flag ({', '.join(CONSENT_FLAGS)}) "
            "with a true/false value", field="consents")
