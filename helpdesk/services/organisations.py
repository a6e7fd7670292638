"""Organisations: the companies customers belong to, joined by hand or by email domain."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from helpdesk import events
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.models import (
    Conversation,
    Customer,
    FieldSubject,
    IdentityKind,
    Organisation,
    OrganisationDomain,
)
from helpdesk.services.common import get_or_404
from helpdesk.services.custom_fields import merged_values
from helpdesk.services.queries import Page, paginate
from helpdesk.uow import UnitOfWork

LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RE = re.compile(rf"^(?=.{{4,253}}$)({LABEL}\.)+[a-z][a-z0-9-]{{1,62}}$")
MAX_NAME = 200
MAX_NOTES = 10_000
MAX_DOMAINS = 50
EDITABLE = ("name", "domains", "notes", "attributes")


def create_organisation(uow: UnitOfWork, actor: Actor, *, name: str, domains: list[str] = (),
                        notes: str = "", attributes: dict[str, Any] | None = None,
                        ) -> Organisation:
    """Create an organisation; a customer created with an email address at one of its
    ``domains`` joins it."""
    organisation = Organisation(name="", notes="", attributes={})
    _apply(uow.session, organisation, {"name": name, "domains": list(domains), "notes": notes,
                                       "attributes": attributes or {}})
    uow.session.add(organisation)
    uow.session.flush()
    _audit(uow, actor, "organisation.created", organisation)
    uow.commit()
    return organisation


def update_organisation(uow: UnitOfWork, actor: Actor, organisation_id: int,
                        **changes: Any) -> Organisation:
    """Change the name, the domains (the full list), the notes or attributes (the keys
    given; ``None`` clears one)."""
    organisation = get_or_404(uow.session, Organisation, organisation_id)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationFailed(f"an organisation has no field {unknown[0]!r}", field=unknown[0])
    _apply(uow.session, organisation, changes)
    _audit(uow, actor, "organisation.updated", organisation)
    uow.commit()
    return organisation


def delete_organisation(uow: UnitOfWork, actor: Actor, organisation_id: int) -> None:
    """Delete an organisation; its members stay, in no organisation."""
    organisation = get_or_404(uow.session, Organisation, organisation_id)
    for member in uow.session.scalars(select(Customer).where(
            Customer.organisation_id == organisation_id)):
        set_organisation(uow, actor, member, None)
    _audit(uow, actor, "organisation.deleted", organisation)
    uow.session.flush()
    uow.session.delete(organisation)
    uow.commit()


def add_member(uow: UnitOfWork, actor: Actor, organisation_id: int, customer_id: int,
               ) -> Customer:
    """Put the customer in this organisation (they leave the one they were in)."""
    customer = get_or_404(uow.session, Customer, customer_id)
    set_organisation(uow, actor, customer, organisation_id)
    uow.commit()
    return customer


def remove_member(uow: UnitOfWork, actor: Actor, organisation_id: int, customer_id: int,
                  ) -> None:
    """Take the customer out of this organisation."""
    get_or_404(uow.session, Organisation, organisation_id)
    customer = get_or_404(uow.session, Customer, customer_id)
    if customer.organisation_id != organisation_id:
        raise NotFound(f"customer {customer_id} is not a member of organisation "
                       f"{organisation_id}", field="customer_id")
    set_organisation(uow, actor, customer, None)
    uow.commit()


def set_organisation(uow: UnitOfWork, actor: Actor, customer: Customer,
                     organisation_id: int | None, *, automatic: bool = False) -> None:
    """Make ``organisation_id`` (``None``: none) the customer's organisation and record it;
    the caller commits."""
    if customer.organisation_id == organisation_id:
        return
    old = customer.organisation
    new = (get_or_404(uow.session, Organisation, organisation_id)
           if organisation_id is not None else None)
    customer.organisation = new
    uow.record(events.OrganisationChanged(
        actor=actor, customer_id=customer.id, old_id=old.id if old else None,
        new_id=new.id if new else None, name=(new or old).name, automatic=automatic))


def link_by_email_domain(uow: UnitOfWork, customer: Customer) -> None:
    """A customer in no organisation joins the one owning the domain of one of their email
    addresses (the first that matches); the caller commits."""
    if customer.organisation_id is not None:
        return
    for email in customer.identity_values(IdentityKind.EMAIL):
        organisation = organisation_for_email(uow.session, email)
        if organisation is not None:
            set_organisation(uow, SYSTEM, customer, organisation.id, automatic=True)
            return


def organisation_by_name(session: Session, name: str) -> Organisation | None:
    """The organisation called ``name`` (any case)."""
    return session.scalar(select(Organisation).where(
        func.lower(Organisation.name) == name.strip().lower()))


def organisation_for_email(session: Session, email: str) -> Organisation | None:
    """The organisation owning the address's domain, if any."""
    return organisation_for_domain(session, email.rpartition("@")[2].strip().lower())


def organisation_for_domain(session: Session, domain: str) -> Organisation | None:
    return session.scalar(select(Organisation).join(OrganisationDomain).where(
        OrganisationDomain.domain == domain))


def normalize_domain(domain: str) -> str:
    """Canonical form of a typed domain (``@Shop.Example`` → ``shop.example``), or
    ValidationFailed naming ``domains``."""
    cleaned = domain.strip().lower().removeprefix("@")
    if not DOMAIN_RE.match(cleaned):
        raise ValidationFailed(f"{domain!r} is not an email domain such as example.com",
                               field="domains")
    return cleaned


def list_organisations(session: Session, *, search: str | None = None, page: int = 1,
                       per_page: int = 25) -> Page[Organisation]:
    """Organisations by name; ``search`` matches part of a name or of a domain."""
    query = (select(Organisation).options(selectinload(Organisation.domain_rows))
             .order_by(func.lower(Organisation.name), Organisation.id))
    if search:
        pattern = f"%{search.strip().lower()}%"
        by_domain = select(OrganisationDomain.organisation_id).where(
            OrganisationDomain.domain.like(pattern))
        query = query.where(or_(func.lower(Organisation.name).like(pattern),
                                Organisation.id.in_(by_domain)))
    return paginate(session, query, page, per_page)


def members(session: Session, organisation_id: int, *, page: int = 1,
            per_page: int = 25) -> Page[Customer]:
    """The organisation's customers (merged-away ones excluded), by name."""
    get_or_404(session, Organisation, organisation_id)
    query = (select(Customer).where(Customer.organisation_id == organisation_id,
                                    Customer.merged_into_id.is_(None))
             .options(selectinload(Customer.identities), selectinload(Customer.organisation))
             .order_by(func.lower(Customer.name), Customer.id))
    return paginate(session, query, page, per_page)


def recent_conversations(session: Session, organisation_id: int, *,
                         limit: int = 20) -> list[Conversation]:
    """The members' conversations with the latest activity first."""
    activity = func.coalesce(Conversation.last_message_at, Conversation.created_at)
    return list(session.scalars(
        select(Conversation).join(Customer, Conversation.customer_id == Customer.id)
        .where(Customer.organisation_id == organisation_id)
        .options(selectinload(Conversation.customer).selectinload(Customer.identities))
        .order_by(activity.desc(), Conversation.id.desc()).limit(limit)))


def _apply(session: Session, organisation: Organisation, changes: dict[str, Any]) -> None:
    if "name" in changes:
        organisation.name = _checked_name(session, organisation, changes["name"])
    if "notes" in changes:
        organisation.notes = _checked_notes(changes["notes"])
    if "domains" in changes:
        _set_domains(session, organisation, changes["domains"])
    if "attributes" in changes:
        organisation.attributes, _changed = merged_values(
            session, FieldSubject.ORGANISATION, organisation.attributes, changes["attributes"])


def _checked_name(session: Session, organisation: Organisation, name: str) -> str:
    name = name.strip()
    if not 0 < len(name) <= MAX_NAME:
        raise ValidationFailed(f"an organisation's name is 1 to {MAX_NAME} characters",
                               field="name")
    taken = organisation_by_name(session, name)
    if taken is not None and taken is not organisation:
        raise Conflict(f"organisation {taken.id} is already called {name!r}", field="name")
    return name


def _checked_notes(notes: str) -> str:
    if len(notes) > MAX_NOTES:
        raise ValidationFailed(f"notes are at most {MAX_NOTES} characters", field="notes")
    return notes.strip()


def _set_domains(session: Session, organisation: Organisation, domains: list[str]) -> None:
    wanted = list(dict.fromkeys(normalize_domain(d) for d in domains))
    if len(wanted) > MAX_DOMAINS:
        raise ValidationFailed(f"an organisation has at most {MAX_DOMAINS} domains",
                               field="domains")
    for domain in wanted:
        owner = organisation_for_domain(session, domain)
        if owner is not None and owner is not organisation:
            raise Conflict(f"the domain {domain} is organisation {owner.id}'s "
                           f"({owner.name})", field="domains")
    # Rows of domains kept stay: deleting and inserting one would collide on its uniqueness.
    kept = {row.domain: row for row in organisation.domain_rows}
    organisation.domain_rows = [kept.get(d) or OrganisationDomain(domain=d) for d in wanted]


def _audit(uow: UnitOfWork, actor: Actor, action: str, organisation: Organisation) -> None:
    uow.record(events.StaffChanged(
        actor=actor, action=action, target_type="organisation", target_id=organisation.id,
        details={"name": organisation.name, "domains": organisation.domains}))
