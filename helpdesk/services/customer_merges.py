"""Merging customers who turn out to be one person, recorded so that it can be undone.

A merge repoints every row that names the source customer to the target: each column with
a foreign key to ``customers`` (found in the models' metadata, so tables added later move
too, unless their column is marked ``KEPT_ON_MERGE``) and the columns naming a customer
without one (a message's author, an event's actor). The ids of the rows repointed are kept
in a ``customer_merges`` row; unmerging repoints exactly those rows back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, select, update
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import (
    KEPT_ON_MERGE,
    AuthorKind,
    Customer,
    CustomerMerge,
    Identity,
    IdentityKind,
    MergeReason,
    Message,
    TimelineEvent,
)
from helpdesk.orm import Base, utcnow
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork

FILLED_FIELDS = ("name", "language", "timezone", "organisation_id")
MERGED_MAPS = ("attributes", "consents")
CHUNK = 1000  # ids per statement when moving rows back


@dataclass(frozen=True)
class MergeSuggestion:
    """Another customer who may be this one: ``email`` is the address one of them typed
    in the chat and the other owns; ``verified`` when it is verified on both sides (the
    owner's address, and an identity of the one who typed it)."""

    customer: Customer
    email: str
    verified: bool


def merge_customers(uow: UnitOfWork, actor: Actor, source_id: int, target_id: int, *,
                    reason: MergeReason = MergeReason.AGENT) -> Customer:
    """Fold ``source`` into ``target``: identities, conversations, history and every other
    row naming the source move over, and the target's blanks are filled from its profile.
    The source is kept, marked merged; ``unmerge_customers`` undoes it."""
    if source_id == target_id:
        raise ValidationFailed("a customer cannot be merged into itself", field="source_id")
    source, target = _locked_pair(uow.session, source_id, target_id)
    _check_mergeable(source, target)
    moved = _repoint_all(uow.session, source_id, target_id)
    record = CustomerMerge(source_id=source_id, target_id=target_id, reason=reason,
                           merged_by_id=actor.id if actor.is_staff else None, moved=moved,
                           profile=_fill_profile(source, target))
    source.merged_into_id = target_id
    uow.session.add(record)
    uow.session.flush()
    uow.record(events.CustomersMerged(actor=actor, customer_id=target_id, source_id=source_id,
                                      merge_id=record.id, reason=reason.value,
                                      moved=record.moved_counts))
    uow.commit()
    return target


def unmerge_customers(uow: UnitOfWork, actor: Actor, target_id: int,
                      source_id: int) -> CustomerMerge:
    """Undo the merge of ``source`` into ``target``: the rows that moved go back (those
    deleted since stay deleted), the profile values it filled in are taken back, and what
    arrived after the merge stays with the target."""
    source, target = _locked_pair(uow.session, source_id, target_id)
    record = active_merge(uow.session, source_id, target_id)
    if target.merged_into_id is not None:
        raise Conflict(f"customer {target_id} was merged into customer "
                       f"{target.merged_into_id} since: undo that merge first",
                       field="target_id")
    _repoint_back(uow.session, record.moved, source_id, target_id)
    _take_back_profile(record.profile, source, target)
    source.merged_into_id = None
    record.unmerged_at = utcnow()
    record.unmerged_by_id = actor.id if actor.is_staff else None
    uow.record(events.CustomersUnmerged(actor=actor, customer_id=target_id,
                                        source_id=source_id, merge_id=record.id))
    uow.record(events.CustomerRestored(actor=actor, customer_id=source_id,
                                       target_id=target_id, merge_id=record.id))
    uow.commit()
    return record


def active_merge(session: Session, source_id: int, target_id: int) -> CustomerMerge:
    """The merge of ``source`` into ``target`` that is not undone, or NotFound."""
    record = session.scalar(select(CustomerMerge).where(
        CustomerMerge.source_id == source_id, CustomerMerge.target_id == target_id,
        CustomerMerge.unmerged_at.is_(None)).order_by(CustomerMerge.id.desc()).limit(1))
    if record is None:
        raise NotFound(f"customer {source_id} is not merged into customer {target_id}",
                       field="source_id")
    return record


def merges_of(session: Session, customer_id: int) -> list[CustomerMerge]:
    """The merges into or out of the customer, newest first."""
    get_or_404(session, Customer, customer_id)
    return list(session.scalars(select(CustomerMerge).where(
        (CustomerMerge.target_id == customer_id) | (CustomerMerge.source_id == customer_id))
        .order_by(CustomerMerge.id.desc())))


def customer_references() -> list[Column[Any]]:
    """Every column with a foreign key to ``customers`` that a merge moves."""
    return [fk.parent for table in Base.metadata.sorted_tables for fk in table.foreign_keys
            if fk.column.table.name == Customer.__tablename__
            and not fk.parent.info.get(KEPT_ON_MERGE)]


def actor_references() -> list[tuple[Column[Any], ColumnElement[bool]]]:
    """Columns naming a customer without a foreign key, with the condition saying so."""
    messages, history = Message.__table__.c, TimelineEvent.__table__.c
    return [(messages.author_id, messages.author_kind == AuthorKind.CUSTOMER),
            (history.actor_id, history.actor_kind == "customer")]


def merge_suggestions(session: Session, customer_id: int) -> list[MergeSuggestion]:
    """Customers who may be this one: an email address typed in the chat by one of them
    (``claimed_email``) belongs to the other."""
    customer = get_or_404(session, Customer, customer_id)
    if customer.merged_into_id is not None:
        return []
    found = [*_claimed_by(session, customer), *_claiming(session, customer)]
    return list({s.customer.id: s for s in found if s.customer.id != customer.id}.values())


def _claimed_by(session: Session, customer: Customer) -> Iterator[MergeSuggestion]:
    """The owner of the address this customer typed."""
    claimed = customer.claimed_email
    identity = session.scalar(select(Identity).where(
        Identity.kind == IdentityKind.EMAIL, Identity.value == claimed)) if claimed else None
    if identity is not None and identity.customer.merged_into_id is None:
        yield MergeSuggestion(identity.customer, identity.value,
                              identity.verified and _has_verified(customer))


def _claiming(session: Session, customer: Customer) -> Iterator[MergeSuggestion]:
    """The customers who typed one of this customer's addresses."""
    emails = {i.value: i for i in customer.identities if i.kind == IdentityKind.EMAIL}
    if not emails:
        return
    for other in session.scalars(select(Customer).where(
            Customer.claimed_email.in_(list(emails)), Customer.merged_into_id.is_(None))):
        email = emails[other.claimed_email]
        yield MergeSuggestion(other, email.value, email.verified and _has_verified(other))


def _has_verified(customer: Customer) -> bool:
    return any(identity.verified for identity in customer.identities)


def _locked_pair(session: Session, source_id: int, target_id: int) -> tuple[Customer, Customer]:
    # Lock both rows in id order, so two opposite merges cannot deadlock.
    locked = {i: get_or_404(session, Customer, i, lock=True,
                            field="source_id" if i == source_id else "target_id")
              for i in sorted((source_id, target_id))}
    return locked[source_id], locked[target_id]


def _check_mergeable(source: Customer, target: Customer) -> None:
    if source.merged_into_id is not None:
        raise Conflict(f"customer {source.id} was already merged", field="source_id")
    if target.merged_into_id is not None:
        raise Conflict(f"customer {target.id} was merged into customer "
                       f"{target.merged_into_id}; merge into that one", field="target_id")


def _repoint_all(session: Session, source_id: int, target_id: int) -> dict[str, list[int]]:
    """Repoint every reference from source to target; the ids moved, by ``table.column``."""
    session.flush()
    references = [(column, ()) for column in customer_references()]
    moved = {}
    for column, where in [*references, *((c, (w,)) for c, w in actor_references())]:
        ids = _repoint(session, column, source_id, target_id, *where)
        if ids:
            moved[f"{column.table.name}.{column.name}"] = ids
    session.expire_all()  # the rows were changed behind the session's back
    return moved


def _repoint_back(session: Session, moved: dict[str, list[int]], source_id: int,
                  target_id: int) -> None:
    """Move the recorded rows that still name the target back to the source."""
    session.flush()
    for key, ids in moved.items():
        table_name, column_name = key.split(".")
        table = Base.metadata.tables.get(table_name)
        if table is None:  # a table a later version dropped: its rows are gone
            continue
        [primary_key] = table.primary_key.columns
        for start in range(0, len(ids), CHUNK):
            _repoint(session, table.c[column_name], target_id, source_id,
                     primary_key.in_(ids[start:start + CHUNK]))
    session.expire_all()


def _repoint(session: Session, column: Column[Any], old: int, new: int,
             *where: ColumnElement[bool]) -> list[int]:
    [primary_key] = column.table.primary_key.columns
    statement = (update(column.table).where(column == old, *where)
                 .values({column.name: new}).returning(primary_key))
    return sorted(session.scalars(statement))


def _fill_profile(source: Customer, target: Customer) -> dict[str, Any]:
    """Fill the target's blanks from the source; what to take back on unmerge."""
    blanks = {f: getattr(target, f) for f in FILLED_FIELDS
              if not getattr(target, f) and getattr(source, f)}
    for name in blanks:
        setattr(target, name, getattr(source, name))
    added = {name: sorted(set(getattr(source, name)) - set(getattr(target, name)))
             for name in MERGED_MAPS}
    for name, keys in added.items():
        theirs = getattr(source, name)
        setattr(target, name, {**getattr(target, name), **{k: theirs[k] for k in keys}})
    return {"fields": blanks, **added}


def _take_back_profile(profile: dict[str, Any], source: Customer, target: Customer) -> None:
    """Undo ``_fill_profile`` where the target still holds the source's value."""
    for name, old in profile.get("fields", {}).items():
        if getattr(target, name) == getattr(source, name):
            setattr(target, name, old)
    for name in MERGED_MAPS:
        theirs, added = getattr(source, name), set(profile.get(name, []))
        setattr(target, name, {k: v for k, v in getattr(target, name).items()
                               if k not in added or theirs.get(k) != v})
