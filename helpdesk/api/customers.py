"""Customers: profile, identities per channel, the shared timeline, merging duplicates."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from helpdesk.api.common import ID, ApiBlueprint, capped_size, page_body, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import (
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    CustomerQuery,
    CustomerSummary,
    IdentityIn,
    IdentityOut,
    MergeIn,
    StrictSchema,
    TimelinePage,
    TimelineQuery,
    enum,
    id_field,
)
from helpdesk.api.segments import visible_segment_id
from helpdesk.auth.guard import current_principal, requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Customer, CustomerMerge, Identity, MergeReason
from helpdesk.services import customer_merges, customers, queries
from helpdesk.services.common import get_or_404
from helpdesk.services.timeline import customer_timeline

blp = ApiBlueprint("api_customers", __name__,
                   description="Customers, their identities and their shared history")
CUSTOMER = f"/customers/<{ID}:customer_id>"
READ, WRITE = Permission.CUSTOMERS_READ, Permission.CUSTOMERS_WRITE
IDENTITY_TAKEN = "The identity belongs to another customer"


class UnmergeIn(StrictSchema):
    source_id = id_field(required=True, metadata={
        "description": "The customer merged into this one, to be on their own again"})


class CustomerMergeOut(Schema):
    id = fields.Integer()
    source_id = fields.Integer(metadata={"description": "The customer merged away"})
    target_id = fields.Integer(metadata={"description": "The customer merged into"})
    reason = enum(MergeReason, metadata={
        "description": "agent (a person chose it) or verified_identity (the rule)"})
    merged_by_id = fields.Integer(allow_none=True)
    merged_at = fields.DateTime()
    moved = fields.Dict(attribute="moved_counts", metadata={
        "description": "How many rows moved, by table.column"})
    unmerged_at = fields.DateTime(allow_none=True)
    unmerged_by_id = fields.Integer(allow_none=True)


class CustomerMergeList(Schema):
    items = fields.List(fields.Nested(CustomerMergeOut))


class MergeSuggestionOut(Schema):
    customer = fields.Nested(CustomerSummary)
    email = fields.String(metadata={
        "description": "The address one of the two typed in the chat and the other owns"})
    verified = fields.Boolean(metadata={
        "description": "Verified on both sides: the address, and an identity of the other"})


class MergeSuggestionList(Schema):
    items = fields.List(fields.Nested(MergeSuggestionOut))


@blp.route("/customers", methods=["GET"])
@blp.arguments(CustomerQuery, location="query")
@blp.response(200, CustomerPage)
@requires(READ)
def list_customers(args: dict[str, Any]) -> dict[str, Any]:
    """List customers (merged-away ones excluded), newest first; ``q`` searches names and
    identity values, ``segment_id`` keeps a segment's customers."""
    return page_body(queries.list_customers(db.session, search=args.get("q"),
                                            segment_id=visible_segment_id(
                                                args.get("segment_id")),
                                            page=args["page"],
                                            per_page=capped_size(args.get("per_page"))))


@blp.route("/customers", methods=["POST"])
@blp.arguments(CustomerIn)
@blp.response(201, CustomerOut)
@blp.alt_response(409, schema=ErrorSchema, description=IDENTITY_TAKEN)
@requires(WRITE)
def create_customer(data: dict[str, Any]) -> Customer:
    """Create a customer with optional identities (each must be free)."""
    identities = [(i["kind"], i["value"]) for i in data.pop("identities")]
    with unit_of_work() as uow:
        created = customers.create_customer(uow, staff_actor(), identities=identities, **data)
    return reload(Customer, created.id)


@blp.route(CUSTOMER, methods=["GET"])
@blp.response(200, CustomerOut)
@requires(READ)
def get_customer(customer_id: int) -> Customer:
    """One customer with their identities (``merged_into_id`` set when merged away)."""
    return get_or_404(db.session, Customer, customer_id)


@blp.route(CUSTOMER, methods=["PATCH"])
@blp.arguments(CustomerPatch)
@blp.response(200, CustomerOut)
@requires(WRITE)
def update_customer(data: dict[str, Any], customer_id: int) -> Customer:
    """Change profile fields; the change is recorded in the timeline."""
    with unit_of_work() as uow:
        customers.update_customer(uow, staff_actor(), customer_id, **data)
    return reload(Customer, customer_id)


@blp.route(CUSTOMER, methods=["DELETE"])
@blp.response(204)
@blp.alt_response(409, schema=ErrorSchema,
                  description="The customer has conversations or merged customers")
@requires(WRITE)
def delete_customer(customer_id: int) -> None:
    """Delete a customer who has no history worth keeping (no conversations)."""
    with unit_of_work() as uow:
        customers.delete_customer(uow, staff_actor(), customer_id)


@blp.route(f"{CUSTOMER}/identities", methods=["POST"])
@blp.arguments(IdentityIn)
@blp.response(201, IdentityOut)
@blp.alt_response(409, schema=ErrorSchema, description=IDENTITY_TAKEN)
@requires(WRITE)
def add_identity(data: dict[str, Any], customer_id: int) -> Identity:
    """Attach an email address, phone number, visitor id or external id.

    A ``verified`` identity that another customer holds verified too means both are one
    person: for a caller allowed to merge customers (customers:merge), that customer is
    merged into this one (see the merges); for others it is a 409 like any taken identity.
    """
    may_merge = current_principal().can(Permission.CUSTOMERS_MERGE)
    with unit_of_work() as uow:
        added = customers.add_identity(uow, staff_actor(), customer_id, data["kind"],
                                       data["value"], verified=data["verified"],
                                       may_merge=may_merge)
    return reload(Identity, added.id)


@blp.route(f"{CUSTOMER}/identities/<{ID}:identity_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(422, schema=ErrorSchema, description="The identity is another customer's")
@requires(WRITE)
def remove_identity(customer_id: int, identity_id: int) -> None:
    """Detach an identity from the customer."""
    with unit_of_work() as uow:
        customers.remove_identity(uow, staff_actor(), customer_id, identity_id)


@blp.route(f"{CUSTOMER}/timeline", methods=["GET"])
@blp.arguments(TimelineQuery, location="query")
@blp.response(200, TimelinePage)
@requires(READ)
def timeline(args: dict[str, Any], customer_id: int) -> dict[str, Any]:
    """The customer's whole history across channels, newest first.

    Follow ``next_cursor`` for older events; filter by event ``type`` (repeatable) and
    ``channel``.
    """
    found = customer_timeline(db.session, customer_id, limit=capped_size(args.get("limit")),
                              cursor=args.get("cursor"), types=args.get("type"),
                              channel=args.get("channel"))
    return {"items": found.events, "next_cursor": found.next_cursor}


@blp.route(f"{CUSTOMER}/merge", methods=["POST"])
@blp.arguments(MergeIn)
@blp.response(200, CustomerOut)
@blp.alt_response(409, schema=ErrorSchema, description="One of them was already merged")
@requires(Permission.CUSTOMERS_MERGE)
def merge(data: dict[str, Any], customer_id: int) -> Customer:
    """Fold the ``source_id`` customer into this one: identities, conversations, history and
    every other row naming it move over. Recorded: ``POST …/unmerge`` undoes it."""
    with unit_of_work() as uow:
        customer_merges.merge_customers(uow, staff_actor(), source_id=data["source_id"],
                                        target_id=customer_id)
    return reload(Customer, customer_id)


@blp.route(f"{CUSTOMER}/unmerge", methods=["POST"])
@blp.arguments(UnmergeIn)
@blp.response(200, CustomerMergeOut)
@blp.alt_response(409, schema=ErrorSchema,
                  description="This customer was merged into another one since")
@requires(Permission.CUSTOMERS_MERGE)
def unmerge(data: dict[str, Any], customer_id: int) -> CustomerMerge:
    """Undo the merge of ``source_id`` into this customer: exactly what moved goes back;
    what arrived since stays here."""
    with unit_of_work() as uow:
        record = customer_merges.unmerge_customers(uow, staff_actor(), customer_id,
                                                   data["source_id"])
    return reload(CustomerMerge, record.id)


@blp.route(f"{CUSTOMER}/merges", methods=["GET"])
@blp.response(200, CustomerMergeList)
@requires(READ)
def merges(customer_id: int) -> dict[str, Any]:
    """The merges into and out of this customer, newest first (undone ones included)."""
    return {"items": customer_merges.merges_of(db.session, customer_id)}


@blp.route(f"{CUSTOMER}/merge-suggestions", methods=["GET"])
@blp.response(200, MergeSuggestionList)
@requires(READ)
def merge_suggestions(customer_id: int) -> dict[str, Any]:
    """Customers who may be this one: an email address one of them typed in the chat is
    the other's."""
    return {"items": customer_merges.merge_suggestions(db.session, customer_id)}
