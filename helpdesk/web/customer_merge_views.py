"""The customer page's merge and unmerge buttons (helpdesk.services.customer_merges)."""

from __future__ import annotations

from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.services import customer_merges
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, run_action
from helpdesk.web.merge_views import required_id


@bp.post("/customers/<int:customer_id>/merge")
@requires(Permission.CUSTOMERS_MERGE)
def merge_customer(customer_id: int) -> ResponseReturnValue:
    """Merge the customer whose number was given into this one."""
    return run_action(
        lambda uow: customer_merges.merge_customers(uow, current_actor(),
                                                    required_id("source_id"), customer_id),
        _("Customer merged into this one."), url_for("web.customer", customer_id=customer_id))


@bp.post("/customers/<int:customer_id>/unmerge")
@requires(Permission.CUSTOMERS_MERGE)
def unmerge_customer(customer_id: int) -> ResponseReturnValue:
    """Undo the merge of the given customer into this one; show the one restored."""
    source_id = required_id("source_id")
    return run_action(
        lambda uow: customer_merges.unmerge_customers(uow, current_actor(), customer_id,
                                                      source_id),
        _("Merge undone: the customer is on their own again."),
        url_for("web.customer", customer_id=source_id))
