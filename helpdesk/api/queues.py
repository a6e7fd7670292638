"""Queues: the channels they serve, how they route, who works them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from helpdesk.api.common import ID, ApiBlueprint, capped_size, page_body, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import PageArgs, QueueIn, QueueOut, QueuePage, QueuePatch
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Queue
from helpdesk.services import queues
from helpdesk.services.common import get_or_404
from helpdesk.services.queries import paginate

blp = ApiBlueprint("api_queues", __name__, description="Queues and their members")
QUEUE = f"/queues/<{ID}:queue_id>"
NAME_TAKEN = "Another queue has this name"


@blp.route("/queues", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, QueuePage)
@requires(Permission.QUEUES_READ)
def list_queues(args: dict[str, Any]) -> dict[str, Any]:
    """List queues by name."""
    query = select(Queue).options(selectinload(Queue.memberships)).order_by(Queue.name)
    return page_body(paginate(db.session, query, args["page"],
                              capped_size(args.get("per_page"))))


@blp.route("/queues", methods=["POST"])
@blp.arguments(QueueIn)
@blp.response(201, QueueOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_TAKEN)
@requires(Permission.QUEUES_MANAGE)
def create_queue(data: dict[str, Any]) -> Queue:
    """Create a queue."""
    with unit_of_work() as uow:
        created = queues.create_queue(uow, staff_actor(), **data)
    return reload(Queue, created.id)


@blp.route(QUEUE, methods=["GET"])
@blp.response(200, QueueOut)
@requires(Permission.QUEUES_READ)
def get_queue(queue_id: int) -> Queue:
    """One queue with its member ids."""
    return get_or_404(db.session, Queue, queue_id)


@blp.route(QUEUE, methods=["PATCH"])
@blp.arguments(QueuePatch)
@blp.response(200, QueueOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_TAKEN)
@requires(Permission.QUEUES_MANAGE)
def update_queue(data: dict[str, Any], queue_id: int) -> Queue:
    """Change a queue; ``member_ids`` and ``channels`` replace the old sets."""
    with unit_of_work() as uow:
        queues.update_queue(uow, staff_actor(), queue_id, **data)
    return reload(Queue, queue_id)
