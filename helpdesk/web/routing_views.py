"""Supervisors' queue pages (channels, members, and how each queue routes: strategy,
overflow queue and wait, channel weights) and a conversation's required skills."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.models import Channel, Queue, RoutingStrategy
from helpdesk.routing_rules import DEFAULT_WEIGHTS
from helpdesk.services import queues, routing
from helpdesk.services.common import get_or_404
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, form_optional_id, run_action, save_form
from helpdesk.web.directory import load_directory

TEXT_FIELDS = ("name", "description", "routing_strategy")
CHANNELS = [c.value for c in Channel]


@bp.get("/queues")
@requires(Permission.QUEUES_MANAGE)
def queues_page() -> ResponseReturnValue:
    """Every queue with how it routes and how many of its agents are free right now."""
    directory = load_directory(db.session)
    status = {q.id: routing.agents_status(db.session, q.id) for q in directory.queue_list}
    return render_template("web/queues.html", queues=directory.queue_list, status=status,
                           directory=directory)


@bp.get("/queues/new")
@requires(Permission.QUEUES_MANAGE)
def new_queue() -> ResponseReturnValue:
    return _form(None, {"routing_strategy": RoutingStrategy.MANUAL.value, "channels": [],
                        "member_ids": [], "channel_weights": {}})


@bp.post("/queues/new")
@requires(Permission.QUEUES_MANAGE)
def create_queue() -> ResponseReturnValue:
    return save_form(lambda uow: queues.create_queue(uow, current_actor(), **_typed()),
                     _("Queue created."), url_for("web.queues_page"),
                     lambda: _form(None, _as_typed()))


@bp.get("/queues/<int:queue_id>")
@requires(Permission.QUEUES_MANAGE)
def edit_queue(queue_id: int) -> ResponseReturnValue:
    return _form(get_or_404(db.session, Queue, queue_id), None)


@bp.post("/queues/<int:queue_id>")
@requires(Permission.QUEUES_MANAGE)
def save_queue(queue_id: int) -> ResponseReturnValue:
    return save_form(lambda uow: queues.update_queue(uow, current_actor(), queue_id, **_typed()),
                     _("Queue saved."), url_for("web.queues_page"),
                     lambda: _form(get_or_404(db.session, Queue, queue_id), _as_typed()))


@bp.post("/conversations/<int:conversation_id>/required-skills")
@requires(Permission.CONVERSATIONS_WRITE)
def set_required_skills(conversation_id: int) -> ResponseReturnValue:
    skills = request.form.get("required_skills", "").split(",")
    return run_action(
        lambda uow: routing.set_required_skills(uow, current_actor(), conversation_id, skills),
        _("Required skills saved."), url_for("web.conversation", conversation_id=conversation_id))


def _form(queue: Queue | None, values: dict[str, Any] | None) -> str:
    """The queue's form: as stored, or (``values``) as typed when it was refused."""
    directory = load_directory(db.session)
    return render_template(
        "web/queue_form.html", queue=queue, values=values or _values_of(queue),
        strategies=list(RoutingStrategy), channels=CHANNELS, default_weights=DEFAULT_WEIGHTS,
        others=[q for q in directory.queue_list if queue is None or q.id != queue.id],
        staff=directory.assignable)


def _values_of(queue: Queue) -> dict[str, Any]:
    return {"name": queue.name, "description": queue.description,
            "channels": queue.channels, "routing_strategy": queue.routing_strategy.value,
            "overflow_queue_id": queue.overflow_queue_id,
            "overflow_after_seconds": queue.overflow_after_seconds,
            "channel_weights": queue.channel_weights, "member_ids": queue.member_ids}


def _as_typed() -> dict[str, Any]:
    form = request.form
    return {name: form.get(name, "") for name in TEXT_FIELDS} | {
        "channels": form.getlist("channels"), "member_ids": form.getlist("member_ids"),
        "overflow_queue_id": form.get("overflow_queue_id", ""),
        "overflow_after_seconds": form.get("overflow_after_seconds", ""),
        "channel_weights": {c: form.get(f"weight_{c}", "") for c in CHANNELS}}


def _typed() -> dict[str, Any]:
    """The form as the queue service takes it (the service checks the values)."""
    form = request.form
    return {name: form.get(name, "") for name in TEXT_FIELDS} | {
        "channels": form.getlist("channels"), "member_ids": _ids(form.getlist("member_ids")),
        "overflow_queue_id": form_optional_id("overflow_queue_id"),
        "overflow_after_seconds": _optional_whole("overflow_after_seconds"),
        "channel_weights": _weights()}


def _optional_whole(name: str) -> int | None:
    value = request.form.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValidationFailed(_("%(field)s must be a whole number.", field=name), field=name)
    return int(value)


def _weights() -> dict[str, float]:
    """The weights typed in (a blank one keeps the default)."""
    weights = {}
    for channel in CHANNELS:
        value = request.form.get(f"weight_{channel}", "").strip().replace(",", ".")
        if not value:
            continue
        try:
            weights[channel] = float(value)
        except ValueError:
            raise ValidationFailed(_("The weight of %(channel)s must be a number.",
                                     channel=channel), field="channel_weights") from None
    return weights


def _ids(values: list[str]) -> list[int]:
    if not all(v.isdigit() for v in values):
        raise ValidationFailed(_("Choose valid members."), field="member_ids")
    return [int(v) for v in values]
