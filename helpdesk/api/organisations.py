"""Organisations: the companies customers belong to, and their members."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow.validate import Length

from helpdesk.api.common import ID, ApiBlueprint, capped_size, page_body, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import (
    CustomerOut,
    CustomerPage,
    PageArgs,
    PageMeta,
    PatchSchema,
    StrictSchema,
    id_field,
    text,
)
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Customer, Organisation
from helpdesk.services import organisations
from helpdesk.services.common import get_or_404
from helpdesk.services.organisations import MAX_DOMAINS, MAX_NAME, MAX_NOTES

blp = ApiBlueprint("api_organisations", __name__,
                   description="Organisations (companies) and their member customers")
ORGANISATION = f"/organisations/<{ID}:organisation_id>"
READ, WRITE = Permission.CUSTOMERS_READ, Permission.CUSTOMERS_WRITE
NAME_OR_DOMAIN_TAKEN = "Another organisation has this name or one of these domains"


class OrganisationFields(StrictSchema):
    name = text(MAX_NAME, min_length=1)
    domains = fields.List(text(253), validate=Length(max=MAX_DOMAINS), metadata={
        "description": "Email domains (the full list): a customer created with an address "
                       "at one of them joins the organisation"})
    notes = text(MAX_NOTES)
    attributes = fields.Dict(keys=text(64, min_length=1), validate=Length(max=100), metadata={
        "description": "Values by attribute key (GET /custom-fields?subject=organisation), "
                       "checked; null clears one, keys not sent are kept"})


class OrganisationIn(OrganisationFields):
    name = text(MAX_NAME, min_length=1, required=True)


class OrganisationPatch(OrganisationFields, PatchSchema):
    pass


class OrganisationOut(Schema):
    id = fields.Integer()
    name = fields.String()
    domains = fields.List(fields.String())
    notes = fields.String()
    attributes = fields.Dict()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class OrganisationQuery(PageArgs):
    q = text(200, metadata={"description": "Part of a name or of a domain"})


class OrganisationPage(Schema):
    items = fields.List(fields.Nested(OrganisationOut))
    meta = fields.Nested(PageMeta)


class MemberIn(StrictSchema):
    customer_id = id_field(required=True, metadata={
        "description": "The customer to add (they leave the organisation they were in)"})


@blp.route("/organisations", methods=["GET"])
@blp.arguments(OrganisationQuery, location="query")
@blp.response(200, OrganisationPage)
@requires(READ)
def list_organisations(args: dict[str, Any]) -> dict[str, Any]:
    """Organisations by name; ``q`` searches names and domains."""
    return page_body(organisations.list_organisations(
        db.session, search=args.get("q"), page=args["page"],
        per_page=capped_size(args.get("per_page"))))


@blp.route("/organisations", methods=["POST"])
@blp.arguments(OrganisationIn)
@blp.response(201, OrganisationOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_OR_DOMAIN_TAKEN)
@requires(WRITE)
def create_organisation(data: dict[str, Any]) -> Organisation:
    """Create an organisation."""
    with unit_of_work() as uow:
        created = organisations.create_organisation(uow, staff_actor(), **data)
    return reload(Organisation, created.id)


@blp.route(ORGANISATION, methods=["GET"])
@blp.response(200, OrganisationOut)
@requires(READ)
def get_organisation(organisation_id: int) -> Organisation:
    """One organisation."""
    return get_or_404(db.session, Organisation, organisation_id)


@blp.route(ORGANISATION, methods=["PATCH"])
@blp.arguments(OrganisationPatch)
@blp.response(200, OrganisationOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_OR_DOMAIN_TAKEN)
@requires(WRITE)
def update_organisation(data: dict[str, Any], organisation_id: int) -> Organisation:
    """Change the name, domains, notes or attributes."""
    with unit_of_work() as uow:
        organisations.update_organisation(uow, staff_actor(), organisation_id, **data)
    return reload(Organisation, organisation_id)


@blp.route(ORGANISATION, methods=["DELETE"])
@blp.response(204)
@requires(WRITE)
def delete_organisation(organisation_id: int) -> None:
    """Delete an organisation; its members stay, in no organisation."""
    with unit_of_work() as uow:
        organisations.delete_organisation(uow, staff_actor(), organisation_id)


@blp.route(f"{ORGANISATION}/members", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, CustomerPage)
@requires(READ)
def members(args: dict[str, Any], organisation_id: int) -> dict[str, Any]:
    """The organisation's customers, by name."""
    return page_body(organisations.members(db.session, organisation_id, page=args["page"],
                                           per_page=capped_size(args.get("per_page"))))


@blp.route(f"{ORGANISATION}/members", methods=["POST"])
@blp.arguments(MemberIn)
@blp.response(200, CustomerOut)
@requires(WRITE)
def add_member(data: dict[str, Any], organisation_id: int) -> Customer:
    """Put a customer in this organisation (recorded in their timeline)."""
    with unit_of_work() as uow:
        organisations.add_member(uow, staff_actor(), organisation_id, data["customer_id"])
    return reload(Customer, data["customer_id"])


@blp.route(f"{ORGANISATION}/members/<{ID}:customer_id>", methods=["DELETE"])
@blp.response(204)
@requires(WRITE)
def remove_member(organisation_id: int, customer_id: int) -> None:
    """Take a customer out of this organisation."""
    with unit_of_work() as uow:
        organisations.remove_member(uow, staff_actor(), organisation_id, customer_id)
