"""Reports for supervisors: each report's tables over a range of days, and the conversations
behind any of their numbers (the drill-down). Definitions: docs/reports.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from marshmallow import Schema, fields

from helpdesk.api.common import ApiBlueprint, capped_size, page_body, staff_actor
from helpdesk.api.schemas import (
    PageArgs,
    PageMeta,
    StrictSchema,
    TimelineEventOut,
    enum,
    id_field,
    text,
)
from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db
from helpdesk.models import Channel, ConversationStatus
from helpdesk.orm import utcnow
from helpdesk.services import reports

blp = ApiBlueprint("api_reports", __name__,
                   description="Reports: volumes, times, SLA, backlog, CSAT, agents, assistant")
REPORT = f"/reports/<any({', '.join(reports.REPORTS)}):report>"


class ReportQuery(StrictSchema):
    start = fields.Date(metadata={"description": "First day (local); default: 29 days before "
                                                 "end"})
    end = fields.Date(metadata={"description": "Last day (local), included; default: today"})
    timezone = text(64, metadata={"description": "IANA time zone the days and hours are "
                                                 "local to; default: default_timezone"})
    channel = enum(Channel)
    queue_id = id_field(strict=False)
    segment_id = id_field(strict=False, metadata={
        "description": "Only the conversations of this segment's customers (a shared segment "
                       "or one of yours)"})


class DrillQuery(ReportQuery, PageArgs):
    metric = text(64, min_length=1, required=True, metadata={
        "description": "As the number's drill gives it"})
    key = text(64, min_length=1, required=True)


class DrillRefOut(Schema):
    metric = fields.String()
    key = fields.String()


class RowOut(Schema):
    cells = fields.Dict(metadata={"description": "Value per column"})
    drills = fields.Dict(keys=fields.String(), values=fields.Nested(DrillRefOut), metadata={
        "description": "Per column: the drill-down listing the conversations behind its number"})


class TableOut(Schema):
    name = fields.String()
    columns = fields.List(fields.String())
    rows = fields.List(fields.Nested(RowOut))


class FiltersOut(Schema):
    start = fields.Date()
    end = fields.Date()
    timezone = fields.String()
    channel = enum(Channel, allow_none=True)
    queue_id = fields.Integer(allow_none=True)
    segment_id = fields.Integer(allow_none=True)


class ReportOut(Schema):
    name = fields.String()
    filters = fields.Function(lambda report: FiltersOut().dump(report.filters.as_dict()))
    tables = fields.List(fields.Nested(TableOut))


class DrillConversationOut(Schema):
    id = fields.Integer()
    subject = fields.String()
    channel = enum(Channel)
    status = enum(ConversationStatus)
    customer_id = fields.Integer()
    queue_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class DrillItemOut(Schema):
    conversation = fields.Nested(DrillConversationOut)
    values = fields.Function(lambda item: _plain(item.values), metadata={
        "description": "The conversation's values for the number (its time, rating...)"})
    events = fields.List(fields.Nested(TimelineEventOut), metadata={
        "description": "The timeline events that made it count"})


class DrillPage(Schema):
    items = fields.List(fields.Nested(DrillItemOut))
    meta = fields.Nested(PageMeta)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def report_filters(args: dict[str, Any]) -> reports.ReportFilter:
    """The checked filters of a request (its time zone defaulting to the app's)."""
    args.setdefault("timezone", current_app.config["COMPTOIR"].default_timezone)
    return reports.report_filter(db.session, staff_actor().id or 0, now=utcnow(), **args)


@blp.route(REPORT, methods=["GET"])
@blp.arguments(ReportQuery, location="query")
@blp.response(200, ReportOut)
@requires(Permission.REPORTS_VIEW)
def get_report(args: dict[str, Any], report: str) -> reports.Report:
    """One report's tables over the days asked for, with the filters.

    Every row says, per column, which drill-down lists the conversations behind its number.
    """
    return reports.run(db.session, report, report_filters(args))


@blp.route(f"{REPORT}/drill", methods=["GET"])
@blp.arguments(DrillQuery, location="query")
@blp.response(200, DrillPage)
@requires(Permission.REPORTS_VIEW)
def drill_down(args: dict[str, Any], report: str) -> dict[str, Any]:
    """The conversations behind one number (``metric`` and ``key`` from its row's drills),
    with their values and the timeline events that made them count."""
    metric, key, page = args.pop("metric"), args.pop("key"), args.pop("page")
    per_page = capped_size(args.pop("per_page", None))
    return page_body(reports.drill_down(db.session, report, report_filters(args), metric, key,
                                        page=page, per_page=per_page))
