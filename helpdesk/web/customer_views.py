"""Customers: the list, one customer's page, and their timeline in slices."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db
from helpdesk.models import Customer
from helpdesk.services.common import get_or_404
from helpdesk.services.queries import ConversationFilter, list_conversations, list_customers
from helpdesk.services.timeline import customer_timeline
from helpdesk.web import bp
from helpdesk.web.directory import load_directory

PAGE_EVENTS = 25
CUSTOMER_CONVERSATIONS = 50


@bp.get("/customers")
@requires(Permission.CUSTOMERS_READ)
def customers() -> ResponseReturnValue:
    search = request.args.get("q", "").strip()
    page = list_customers(db.session, search=search or None,
                          page=max(1, request.args.get("page", 1, type=int)),
                          per_page=current_app.config["COMPTOIR"].page_size)
    return render_template("web/customers.html", page=page, search=search)


@bp.get("/customers/<int:customer_id>")
@requires(Permission.CUSTOMERS_READ)
def customer(customer_id: int) -> ResponseReturnValue:
    found = get_or_404(db.session, Customer, customer_id)
    their = list_conversations(db.session, ConversationFilter(customer_id=found.id),
                               per_page=CUSTOMER_CONVERSATIONS)
    return render_template("web/customer.html", customer=found, conversations=their,
                           timeline=_timeline(found.id), directory=load_directory(db.session))


@bp.get("/customers/<int:customer_id>/timeline")
@requires(Permission.CUSTOMERS_READ)
def customer_timeline_page(customer_id: int) -> ResponseReturnValue:
    """The next slice of the timeline, as list items (htmx appends them in place)."""
    return render_template("web/_timeline_items.html",
                           customer=get_or_404(db.session, Customer, customer_id),
                           timeline=_timeline(customer_id), directory=load_directory(db.session))


def _timeline(customer_id: int):
    return customer_timeline(db.session, customer_id, limit=PAGE_EVENTS,
                             cursor=request.args.get("cursor") or None)
