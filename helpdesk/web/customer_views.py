"""Customers: the list, one customer's page (profile, attributes, consents, organisation,
their timeline in filtered slices) and its forms."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.models import CONSENT_FLAGS, Customer, FieldSubject
from helpdesk.services import customer_merges, customers, organisations, segments
from helpdesk.services.common import get_or_404
from helpdesk.services.queries import ConversationFilter, list_conversations, list_customers
from helpdesk.services.timeline import TimelinePage, customer_timeline
from helpdesk.uow import UnitOfWork
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, run_action
from helpdesk.web.custom_field_views import submitted_values
from helpdesk.web.directory import load_directory
from helpdesk.web.labels import LABELS
from helpdesk.web.segment_views import chosen_segment

PAGE_EVENTS = 25
CUSTOMER_CONVERSATIONS = 50
CONSENT_CHOICES = {"yes": True, "no": False, "": None}


@bp.get("/customers", endpoint="customers")
@requires(Permission.CUSTOMERS_READ)
def customers_page() -> ResponseReturnValue:
    search = request.args.get("q", "").strip()
    segment = chosen_segment(request.args.get("segment", type=int))
    page = list_customers(db.session, search=search or None,
                          segment_id=segment.id if segment else None,
                          page=max(1, request.args.get("page", 1, type=int)),
                          per_page=current_app.config["COMPTOIR"].page_size)
    return render_template("web/customers.html", page=page, search=search, segment=segment,
                           segments=segments.visible_segments(db.session, current_user.id))


@bp.get("/customers/<int:customer_id>")
@requires(Permission.CUSTOMERS_READ)
def customer(customer_id: int) -> ResponseReturnValue:
    found = get_or_404(db.session, Customer, customer_id)
    their = list_conversations(db.session, ConversationFilter(customer_id=found.id),
                               per_page=CUSTOMER_CONVERSATIONS)
    return render_template(
        "web/customer.html", customer=found, conversations=their,
        timeline=_timeline(found.id), timeline_filters=_filters(),
        channel_choices=LABELS["channel"], event_choices=LABELS["event"],
        directory=load_directory(db.session),
        merges=customer_merges.merges_of(db.session, found.id),
        suggestions=customer_merges.merge_suggestions(db.session, found.id))


@bp.get("/customers/<int:customer_id>/timeline")
@requires(Permission.CUSTOMERS_READ)
def customer_timeline_page(customer_id: int) -> ResponseReturnValue:
    """The next slice of the timeline, as list items (htmx appends them in place)."""
    return render_template("web/_timeline_items.html",
                           customer=get_or_404(db.session, Customer, customer_id),
                           timeline=_timeline(customer_id), timeline_filters=_filters(),
                           directory=load_directory(db.session))


@bp.post("/customers/<int:customer_id>/attributes")
@requires(Permission.CUSTOMERS_WRITE)
def set_customer_attributes(customer_id: int) -> ResponseReturnValue:
    """Save every attribute shown (an empty one is cleared)."""
    def save(uow: UnitOfWork) -> None:
        customers.update_customer(uow, current_actor(), customer_id, attributes=submitted_values(
            uow.session, FieldSubject.CUSTOMER))
    return run_action(save, _("Attributes saved."), _here(customer_id))


@bp.post("/customers/<int:customer_id>/consents")
@requires(Permission.CUSTOMERS_WRITE)
def set_customer_consents(customer_id: int) -> ResponseReturnValue:
    """Save every consent flag: yes, no, or not asked."""
    consents = {flag: CONSENT_CHOICES.get(request.form.get(f"consent-{flag}", ""))
                for flag in CONSENT_FLAGS}
    return run_action(lambda uow: customers.update_customer(uow, current_actor(), customer_id,
                                                            consents=consents),
                      _("Consents saved."), _here(customer_id))


@bp.post("/customers/<int:customer_id>/organisation")
@requires(Permission.CUSTOMERS_WRITE)
def set_customer_organisation(customer_id: int) -> ResponseReturnValue:
    """Move the customer to the organisation named (empty: none)."""
    def save(uow: UnitOfWork) -> None:
        customers.update_customer(uow, current_actor(), customer_id,
                                  organisation_id=_organisation_named(uow))
    return run_action(save, _("Organisation saved."), _here(customer_id))


def _organisation_named(uow: UnitOfWork) -> int | None:
    name = request.form.get("organisation", "").strip()
    if not name:
        return None
    found = organisations.organisation_by_name(uow.session, name)
    if found is None:
        raise NotFound(_("No organisation is called %(name)s.", name=name),
                       field="organisation")
    return found.id


def _timeline(customer_id: int) -> TimelinePage:
    filters = _filters()
    return customer_timeline(db.session, customer_id, limit=PAGE_EVENTS,
                             cursor=request.args.get("cursor") or None,
                             types=[filters["type"]] if filters.get("type") else None,
                             channel=filters.get("channel"))


def _filters() -> dict[str, Any]:
    """The timeline's filters in the query string (kept by its "load more" links)."""
    return {name: request.args[name] for name in ("channel", "type") if request.args.get(name)}


def _here(customer_id: int) -> str:
    return url_for("web.customer", customer_id=customer_id)
