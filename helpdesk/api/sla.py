"""Service levels: business-hours calendars and their holidays, SLA policies, the breaches
recorded for reports. A queue picks its policy and business hours with PATCH /queues."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validates
from marshmallow.validate import Length, OneOf, Range
from sqlalchemy import select

from helpdesk.api.common import ID, ApiBlueprint, capped_size, page_body, reload, staff_actor
from helpdesk.api.openapi import ErrorSchema
from helpdesk.api.schemas import (
    PageArgs,
    PageMeta,
    PatchSchema,
    StrictSchema,
    enum,
    id_field,
    text,
)
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import BusinessCalendar, Priority, SlaAction, SlaMetric, SlaPolicy
from helpdesk.services import sla, sla_settings
from helpdesk.services.common import get_or_404
from helpdesk.services.queries import paginate
from helpdesk.sla_clock import WEEKDAYS

blp = ApiBlueprint("api_sla", __name__,
                   description="Service levels: business-hours calendars, SLA policies, breaches")
CALENDAR = f"/sla/calendars/<{ID}:calendar_id>"
POLICY = f"/sla/policies/<{ID}:policy_id>"
MANAGE = Permission.SLA_MANAGE
NAME_TAKEN = "Another calendar or policy has this name"
IN_USE = "A policy or queue uses it"
ACTIONS = [a.value for a in SlaAction]


# --- schemas ------------------------------------------------------------------------------------

class HolidayIn(StrictSchema):
    date = fields.Date(required=True)
    name = text(sla_settings.MAX_HOLIDAY_NAME, load_default="")


def _hours(**kwargs: Any) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=OneOf(WEEKDAYS)),
        values=fields.List(text(11), validate=Length(max=24)),
        metadata={"description": 'Opening periods per weekday, e.g. {"mon": ["09:00-12:30", '
                                 '"13:30-18:00"]}; a day left out is closed'}, **kwargs)


class CalendarFields(StrictSchema):
    name = text(100, min_length=1)
    timezone = text(64, metadata={"description": "IANA time zone, such as Europe/Paris"})
    hours = _hours()
    holidays = fields.List(fields.Nested(HolidayIn), validate=Length(max=1000),
                           metadata={"description": "The full list of days closed"})


class CalendarIn(CalendarFields):
    name = text(100, min_length=1, required=True)
    timezone = text(64, required=True)
    hours = _hours(required=True)


class CalendarPatch(CalendarFields, PatchSchema):
    pass


class HolidayOut(Schema):
    id = fields.Integer()
    date = fields.Date(attribute="day")
    name = fields.String()


class CalendarOut(Schema):
    id = fields.Integer()
    name = fields.String()
    timezone = fields.String()
    hours = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    holidays = fields.List(fields.Nested(HolidayOut))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CalendarPage(Schema):
    items = fields.List(fields.Nested(CalendarOut))
    meta = fields.Nested(PageMeta)


class HolidaySeedIn(StrictSchema):
    country = text(3, min_length=2, required=True,
                   metadata={"description": "ISO 3166 code, such as FR"})
    year = fields.Integer(strict=True, required=True, validate=Range(
        sla_settings.SEED_YEARS.start, sla_settings.SEED_YEARS.stop - 1))
    subdivision = text(10, allow_none=True, metadata={"description": "Such as BY in DE"})


class HolidaySeedOut(Schema):
    added = fields.Integer(metadata={"description": "Days added (those already there kept)"})
    calendar = fields.Nested(CalendarOut)


def _minutes() -> fields.Integer:
    return fields.Integer(strict=True, allow_none=True,
                          validate=Range(1, sla_settings.MAX_TARGET_MINUTES))


class TargetIn(StrictSchema):
    priority = enum(Priority, required=True)
    first_response = _minutes()
    next_response = _minutes()
    resolution = _minutes()


class PolicyFields(StrictSchema):
    name = text(100, min_length=1)
    calendar_id = id_field(allow_none=True, metadata={
        "description": "Business hours the clocks count in; null: wall-clock time"})
    pause_statuses = fields.List(fields.String(validate=OneOf(sla_settings.PAUSABLE)))
    warning_minutes = fields.Integer(strict=True, validate=Range(
        0, sla_settings.MAX_WARNING_MINUTES), metadata={"description": "0: no warning"})
    warning_actions = fields.List(fields.String(validate=OneOf(ACTIONS)))
    breach_actions = fields.List(fields.String(validate=OneOf(ACTIONS)))
    escalation_queue_id = id_field(allow_none=True, metadata={
        "description": "Where move_queue sends the conversation"})
    targets = fields.List(fields.Nested(TargetIn), validate=Length(max=len(Priority)),
                          metadata={"description": "Minutes per priority; replaces all"})

    @validates("targets")
    def _one_per_priority(self, targets: list[dict[str, Any]], **_kwargs: Any) -> None:
        priorities = [t["priority"] for t in targets]
        if len(set(priorities)) != len(priorities):
            raise ValidationError("one entry per priority")


class PolicyIn(PolicyFields):
    name = text(100, min_length=1, required=True)


class PolicyPatch(PolicyFields, PatchSchema):
    pass


class TargetOut(Schema):
    priority = enum(Priority)
    first_response = fields.Integer(attribute="first_response_minutes", allow_none=True)
    next_response = fields.Integer(attribute="next_response_minutes", allow_none=True)
    resolution = fields.Integer(attribute="resolution_minutes", allow_none=True)


class PolicyOut(Schema):
    id = fields.Integer()
    name = fields.String()
    calendar_id = fields.Integer(allow_none=True)
    pause_statuses = fields.List(fields.String())
    warning_minutes = fields.Integer()
    warning_actions = fields.List(fields.String())
    breach_actions = fields.List(fields.String())
    escalation_queue_id = fields.Integer(allow_none=True)
    targets = fields.List(fields.Nested(TargetOut))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PolicyPage(Schema):
    items = fields.List(fields.Nested(PolicyOut))
    meta = fields.Nested(PageMeta)


class BreachQuery(PageArgs):
    queue_id = id_field(strict=False)
    since = fields.AwareDateTime(metadata={"description": "Breached at or after"})
    until = fields.AwareDateTime(metadata={"description": "Breached before"})


class BreachOut(Schema):
    id = fields.Integer()
    conversation_id = fields.Integer()
    metric = enum(SlaMetric)
    due_at = fields.DateTime()
    breached_at = fields.DateTime(metadata={"description": "When Comptoir saw it"})
    queue_id = fields.Integer(allow_none=True)
    priority = enum(Priority)


class BreachPage(Schema):
    items = fields.List(fields.Nested(BreachOut))
    meta = fields.Nested(PageMeta)


# --- calendars ----------------------------------------------------------------------------------

@blp.route("/sla/calendars", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, CalendarPage)
@requires(MANAGE)
def list_calendars(args: dict[str, Any]) -> dict[str, Any]:
    """List business-hours calendars by name."""
    query = select(BusinessCalendar).order_by(BusinessCalendar.name)
    return page_body(paginate(db.session, query, args["page"], capped_size(args.get("per_page"))))


@blp.route("/sla/calendars", methods=["POST"])
@blp.arguments(CalendarIn)
@blp.response(201, CalendarOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_TAKEN)
@requires(MANAGE)
def create_calendar(data: dict[str, Any]) -> BusinessCalendar:
    """Create a calendar: weekly opening hours in a time zone, and holidays."""
    with unit_of_work() as uow:
        created = sla_settings.create_calendar(uow, staff_actor(), **_calendar_fields(data))
    return reload(BusinessCalendar, created.id)


@blp.route(CALENDAR, methods=["GET"])
@blp.response(200, CalendarOut)
@requires(MANAGE)
def get_calendar(calendar_id: int) -> BusinessCalendar:
    """One calendar with its holidays."""
    return get_or_404(db.session, BusinessCalendar, calendar_id)


@blp.route(CALENDAR, methods=["PATCH"])
@blp.arguments(CalendarPatch)
@blp.response(200, CalendarOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_TAKEN)
@requires(MANAGE)
def update_calendar(data: dict[str, Any], calendar_id: int) -> BusinessCalendar:
    """Change a calendar; ``hours`` and ``holidays`` replace the old ones. The clocks that use
    it are recomputed by the worker within a minute."""
    with unit_of_work() as uow:
        sla_settings.update_calendar(uow, staff_actor(), calendar_id, **_calendar_fields(data))
    return reload(BusinessCalendar, calendar_id)


@blp.route(CALENDAR, methods=["DELETE"])
@blp.response(204)
@blp.alt_response(409, schema=ErrorSchema, description=IN_USE)
@requires(MANAGE)
def delete_calendar(calendar_id: int) -> None:
    """Delete a calendar that no policy or queue uses."""
    with unit_of_work() as uow:
        sla_settings.delete_calendar(uow, staff_actor(), calendar_id)


@blp.route(f"{CALENDAR}/holidays/seed", methods=["POST"])
@blp.arguments(HolidaySeedIn)
@blp.response(200, HolidaySeedOut)
@requires(MANAGE)
def seed_holidays(data: dict[str, Any], calendar_id: int) -> dict[str, Any]:
    """Add a country's public holidays for a year (from the ``holidays`` package)."""
    with unit_of_work() as uow:
        added = sla_settings.seed_holidays(uow, staff_actor(), calendar_id, **data)
    return {"added": added, "calendar": reload(BusinessCalendar, calendar_id)}


def _calendar_fields(data: dict[str, Any]) -> dict[str, Any]:
    if "holidays" in data:
        data["holidays"] = [(h["date"], h["name"]) for h in data["holidays"]]
    return data


# --- policies -----------------------------------------------------------------------------------

@blp.route("/sla/policies", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, PolicyPage)
@requires(MANAGE)
def list_policies(args: dict[str, Any]) -> dict[str, Any]:
    """List SLA policies by name."""
    query = select(SlaPolicy).order_by(SlaPolicy.name)
    return page_body(paginate(db.session, query, args["page"], capped_size(args.get("per_page"))))


@blp.route("/sla/policies", methods=["POST"])
@blp.arguments(PolicyIn)
@blp.response(201, PolicyOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_TAKEN)
@requires(MANAGE)
def create_policy(data: dict[str, Any]) -> SlaPolicy:
    """Create a policy: targets per priority, pauses, warnings and what alerts set off."""
    with unit_of_work() as uow:
        created = sla_settings.create_policy(uow, staff_actor(), **_policy_fields(data))
    return reload(SlaPolicy, created.id)


@blp.route(POLICY, methods=["GET"])
@blp.response(200, PolicyOut)
@requires(MANAGE)
def get_policy(policy_id: int) -> SlaPolicy:
    """One policy with its targets."""
    return get_or_404(db.session, SlaPolicy, policy_id)


@blp.route(POLICY, methods=["PATCH"])
@blp.arguments(PolicyPatch)
@blp.response(200, PolicyOut)
@blp.alt_response(409, schema=ErrorSchema, description=NAME_TAKEN)
@requires(MANAGE)
def update_policy(data: dict[str, Any], policy_id: int) -> SlaPolicy:
    """Change a policy; lists and ``targets`` replace the old ones. The worker recomputes the
    clocks of the open conversations within a minute."""
    with unit_of_work() as uow:
        sla_settings.update_policy(uow, staff_actor(), policy_id, **_policy_fields(data))
    return reload(SlaPolicy, policy_id)


@blp.route(POLICY, methods=["DELETE"])
@blp.response(204)
@blp.alt_response(409, schema=ErrorSchema, description=IN_USE)
@requires(MANAGE)
def delete_policy(policy_id: int) -> None:
    """Delete a policy that no queue uses (its recorded breaches stay)."""
    with unit_of_work() as uow:
        sla_settings.delete_policy(uow, staff_actor(), policy_id)


def _policy_fields(data: dict[str, Any]) -> dict[str, Any]:
    if "targets" in data:
        data["targets"] = {t.pop("priority").value: t for t in data["targets"]}
    return data


# --- breaches -----------------------------------------------------------------------------------

@blp.route("/sla/breaches", methods=["GET"])
@blp.arguments(BreachQuery, location="query")
@blp.response(200, BreachPage)
@requires(MANAGE)
def list_breaches(args: dict[str, Any]) -> dict[str, Any]:
    """Recorded breaches, newest first: which target of which conversation, due when, and
    the queue and priority it had then."""
    page, per_page = args.pop("page"), capped_size(args.pop("per_page", None))
    return page_body(sla.breaches(db.session, page=page, per_page=per_page, **args))
