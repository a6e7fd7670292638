"""The reports of supervisors (/reports): a report's charts and tables over a range of days
with filters, every table as CSV, and the conversations behind any number with the events
that made them count (the drill-down, also as CSV). The figures are
helpdesk.services.reports' (definitions: docs/reports.md); this module only shows them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Response, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.extensions import db
from helpdesk.models import Channel
from helpdesk.orm import utcnow
from helpdesk.services import queries, reports, segments
from helpdesk.services.customer_imports import csv_line
from helpdesk.services.reports import tables as reports_names
from helpdesk.services.reports.tables import ALL, NONE
from helpdesk.web import bp
from helpdesk.web.actions import error_text
from helpdesk.web.context import when
from helpdesk.web.labels import label
from helpdesk.web.sla_views import business_time, sla_label
from helpdesk.web.wallboard_views import share

VIEW = Permission.REPORTS_VIEW
REPORT = f"<any({', '.join(reports.REPORTS)}):report>"
FILTERS = ("start", "end", "channel", "queue_id", "segment_id")
PERCENT = ("share", "compliance", "csat")
MINUTE = 60
TITLES = {"volumes": _l("Volumes"), "response_times": _l("Response times"),
          "sla": _l("SLA compliance"), "backlog": _l("Backlog"), "csat": _l("Satisfaction"),
          "agents": _l("Agents"), "assistant": _l("Assistant")}
TABLE_TITLES = {
    "by_day": _l("Per day"), "by_hour": _l("Per hour of the day"),
    "by_channel": _l("Per channel"), "by_queue": _l("Per queue"), "by_agent": _l("Per agent"),
    "first_response": _l("Time to first response"), "resolution": _l("Time to resolution"),
    "compliance": _l("Targets met"), "breaches": _l("Breaches recorded in the period"),
    "backlog": _l("Open conversations at the end of each day"),
    "distribution": _l("Ratings"), "agents": _l("Agent activity"),
    "summary": _l("What the assistant did"), "handoff_reasons": _l("Why it handed over"),
    "csat": _l("Satisfaction when the assistant solved alone"),
}
COLUMNS = {
    "day": _l("Day"), "hour": _l("Hour"), "channel": _l("Channel"), "queue": _l("Queue"),
    "conversations": _l("Conversations"), "share": _l("Share"), "group": _l("Conversations of"),
    "pending": _l("Not yet"), "median_seconds": _l("Median"),
    "p90_seconds": _l("90th percentile"), "business_median_seconds": _l("Median, business hours"),
    "business_p90_seconds": _l("90th percentile, business hours"), "metric": _l("Target"),
    "met": _l("Met"), "breached": _l("Breached"), "running": _l("Running"),
    "compliance": _l("Compliance"), "breaches": _l("Breaches"), "opened": _l("Opened"),
    "resolved": _l("Resolved"), "reopened": _l("Reopened"), "open_at_end": _l("Open at the end"),
    "agent": _l("Agent"), "ratings": _l("Ratings"), "average": _l("Average"),
    "satisfied": _l("Satisfied (4 or 5)"), "csat": _l("CSAT"), "rating": _l("Rating"),
    "handled": _l("Handled"), "replies": _l("Replies"), "solved": _l("Solved"),
    "average_handling_seconds": _l("Average handling time"), "online_seconds": _l("Time online"),
    "measure": _l("Measure"), "reason": _l("Reason"), "handoffs": _l("Handoffs"),
}
MEASURES = {"conversations": _l("Conversations opened"),
            "involved": _l("The assistant took part"),
            "handed_off": _l("Handed over to people"),
            "solved_without_human": _l("Solved without a human"),
            "came_back": _l("Solved, but the customer came back within 72 hours"),
            "awaiting_window": _l("Solved less than 72 hours ago"),
            "resolved": _l("Resolved by the assistant")}


# The row column a drill-down's key is a value of, when it is not the metric itself.
DRILL_KEYS = {"first_response": "group", "resolution": "group", "met": "metric",
              "breached": "metric", "running": "metric", "breaches": "metric",
              "opened": "day", "resolved": "day", "reopened": "day", "open_at_end": "day",
              "handled": "agent", "solved": "agent"}


@dataclass(frozen=True)
class Chart:
    """A chart of ``columns`` of one table, a point per row."""

    table: str
    kind: str  # Chart.js type: line, bar, doughnut
    columns: tuple[str, ...]
    stacked: bool = False


CHARTS = {
    "volumes": [Chart("by_day", "line", ("conversations",)),
                Chart("by_hour", "bar", ("conversations",)),
                Chart("by_channel", "doughnut", ("conversations",))],
    "response_times": [Chart("first_response", "bar", ("median_seconds", "p90_seconds")),
                       Chart("resolution", "bar", ("median_seconds", "p90_seconds"))],
    "sla": [Chart("compliance", "bar", ("met", "breached", "running"), stacked=True)],
    "backlog": [Chart("backlog", "line", ("open_at_end", "opened", "resolved"))],
    "csat": [Chart("distribution", "bar", ("ratings",)), Chart("by_channel", "bar", ("csat",))],
    "agents": [Chart("agents", "bar", ("handled", "solved"))],
    "assistant": [Chart("summary", "bar", ("conversations",)),
                  Chart("handoff_reasons", "doughnut", ("handoffs",))],
}


@dataclass(frozen=True)
class Cell:
    text: str | Markup
    href: str | None = None
    numeric: bool = False


# --- pages --------------------------------------------------------------------------------------

@bp.get("/reports")
@bp.get(f"/reports/{REPORT}")
@requires(VIEW)
def reports_page(report: str = "volumes") -> ResponseReturnValue:
    try:
        filters = _filters()
        result = reports.run(db.session, report, filters)
    except DomainError as exc:
        return _page(report, None, error_text(exc)), 422
    return _page(report, result)


@bp.get(f"/reports/{REPORT}/<name>.csv")
@requires(VIEW)
def report_csv(report: str, name: str) -> ResponseReturnValue:
    filters = _filters_or_422()
    result = reports.run(db.session, report, filters)
    table = next((t for t in result.tables if t.name == name), None)
    if table is None:
        return _("There is no such table."), 404
    lines = [table.columns, *([_csv_value(r[c]) for c in table.columns] for r in table.records())]
    return _csv(f"{report}-{name}-{filters.start}-{filters.end}.csv", lines)


@bp.get(f"/reports/{REPORT}/drill")
@requires(VIEW)
def report_drill(report: str) -> ResponseReturnValue:
    try:
        filters = _filters()
        metric, key = request.args.get("metric", ""), request.args.get("key", "")
        page = reports.drill_down(db.session, report, filters, metric, key,
                                  page=_page_number(), per_page=_page_size())
    except DomainError as exc:
        return render_template("web/report_drill.html", report=report, title=TITLES[report],
                               error=error_text(exc), page=None, args=_args()), 422
    return render_template("web/report_drill.html", report=report, title=TITLES[report],
                           error=None, page=page, items=[_drill_item(i) for i in page.items],
                           what=_drill_title(metric, key), args=_args(), filters=filters)


@bp.get(f"/reports/{REPORT}/drill.csv")
@requires(VIEW)
def report_drill_csv(report: str) -> ResponseReturnValue:
    filters = _filters_or_422()
    metric, key = request.args.get("metric", ""), request.args.get("key", "")
    try:
        page = reports.drill_down(db.session, report, filters, metric, key, per_page=10**9)
    except DomainError as exc:
        return error_text(exc), 422
    keys = sorted({k for item in page.items for k in item.values})
    lines = [["conversation_id", "subject", "channel", "created_at", *keys, "event_ids"],
             *([str(i.conversation.id), i.conversation.subject, i.conversation.channel.value,
                i.conversation.created_at.isoformat(),
                *(_csv_value(i.values.get(k)) for k in keys),
                " ".join(str(e.id) for e in i.events)] for i in page.items)]
    return _csv(f"{report}-{metric}-{key}.csv", lines)


def _page(report: str, result: reports.Report | None, error: str | None = None) -> str:
    args = _args()
    return render_template(
        "web/reports.html", report=report, titles=TITLES, error=error, args=args,
        tables=[_table_view(report, t, args) for t in result.tables] if result else [],
        charts=[_chart(result, c) for c in CHARTS[report]] if result else [],
        filters=result.filters if result else None, channels=list(Channel),
        queues=queries.all_queues(db.session),
        segments=segments.visible_segments(db.session, current_user.id),
        timezone=current_app.config["COMPTOIR"].default_timezone)


# --- filters ------------------------------------------------------------------------------------

def _args() -> dict[str, str]:
    """The filters as the request gave them, to carry into links."""
    return {name: request.args[name] for name in FILTERS if request.args.get(name)}


def _filters() -> reports.ReportFilter:
    """The request's filters, checked (ValidationFailed names the field that is wrong)."""
    args = _args()
    return reports.report_filter(
        db.session, current_user.id, now=utcnow(),
        timezone=current_app.config["COMPTOIR"].default_timezone,
        start=_date(args, "start"), end=_date(args, "end"), channel=args.get("channel"),
        queue_id=_id(args, "queue_id"), segment_id=_id(args, "segment_id"))


def _filters_or_422() -> reports.ReportFilter:
    try:
        return _filters()
    except DomainError as exc:
        abort(Response(error_text(exc), 422))


def _date(args: Mapping[str, str], name: str) -> date | None:
    if name not in args:
        return None
    try:
        return date.fromisoformat(args[name])
    except ValueError:
        raise ValidationFailed(f"{args[name]!r} is not a date such as 2026-01-31",
                               field=name) from None


def _id(args: Mapping[str, str], name: str) -> int | None:
    if name not in args:
        return None
    if not args[name].isdigit() or len(args[name]) > 9:
        raise ValidationFailed(f"{args[name]!r} is not an id", field=name)
    return int(args[name])


def _page_number() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) < 10**6 else 1


def _page_size() -> int:
    return current_app.config["COMPTOIR"].page_size


# --- showing the figures ------------------------------------------------------------------------

def _table_view(report: str, table: reports.Table, args: dict[str, str]) -> dict[str, Any]:
    shown = [c for c in table.columns if not c.endswith("_name")]
    return {"name": table.name, "title": TABLE_TITLES.get(table.name, table.name),
            "headers": [COLUMNS.get(c, c) for c in shown],
            "csv": url_for("web.report_csv", report=report, name=table.name, **args),
            "rows": [[_cell(report, row, c, args, first=n == 0) for n, c in enumerate(shown)]
                     for row in table.rows]}


def _cell(report: str, row: reports.Row, column: str, args: dict[str, str], *,
          first: bool) -> Cell:
    value = row.cells.get(column)
    drill = row.drills.get(column)
    href = url_for("web.report_drill", report=report, metric=drill.metric, key=drill.key,
                   **args) if drill and value else None  # nothing behind a 0
    if first:
        return Cell(row_label(column, value, row.cells.get(f"{column}_name")), href)
    return Cell(figure(column, value), href, numeric=True)


def row_label(column: str, value: Any, name: str | None = None) -> str:
    """What a row is about, in words: a channel, a queue's name, a day..."""
    if name:
        return name
    if value in (NONE, None):
        return _("None")
    if column == "group":
        return _("All") if value == ALL else row_label(*value.split(":", 1))
    if column == "channel":
        return str(label("channel", value))
    if column == "day":
        return format_date(date.fromisoformat(value), "medium")
    if column == "hour":
        return f"{int(value):02d}:00"
    if column == "agent" and value == "assistant":
        return _("The assistant")
    texts = {"metric": lambda: sla_label("metric", value), "reason": lambda: label(
        "handoff", value), "measure": lambda: MEASURES.get(value, value)}
    return str(texts[column]()) if column in texts else str(value)


def figure(column: str, value: Any) -> str:
    """A number as the tables show it: a duration, a percentage, a count."""
    if value is None:
        return "—"
    if column.endswith("_seconds"):
        return business_time(value)
    if column in PERCENT:
        return share(value)
    return str(value)


def _chart(result: reports.Report, chart: Chart) -> dict[str, Any]:
    """What reports.js gives Chart.js: the points, durations in minutes."""
    table = result.table(chart.table)
    key = table.columns[0]
    return {"kind": chart.kind, "stacked": chart.stacked,
            "title": str(TABLE_TITLES.get(table.name, table.name)),
            "labels": [row_label(key, r.cells[key], r.cells.get(f"{key}_name"))
                       for r in table.rows],
            "datasets": [{"label": _series_label(c),
                          "data": [_point(c, r.cells.get(c)) for r in table.rows]}
                         for c in chart.columns]}


def _series_label(column: str) -> str:
    name = str(COLUMNS.get(column, column))
    return _("%(name)s (minutes)", name=name) if column.endswith("_seconds") else name


def _point(column: str, value: Any) -> float | None:
    if value is None or not column.endswith("_seconds"):
        return value
    return round(value / MINUTE, 1)


# --- the drill-down -----------------------------------------------------------------------------

def _drill_title(metric: str, key: str) -> str:
    """What the conversations listed are: "Breached · First response", "Opened · 3 Mar"..."""
    what = MEASURES.get(metric) or COLUMNS.get(metric) or TABLE_TITLES.get(metric) or metric
    if key == ALL and metric in MEASURES:
        return str(what)
    column = DRILL_KEYS.get(metric, metric)
    names = {"queue": reports_names.queue_names, "agent": reports_names.user_names}
    name = names[column](db.session).get(key) if column in names else None
    return f"{what} · {row_label(column, key, name)}"


def _drill_item(item: reports.DrillItem) -> dict[str, Any]:
    return {"conversation": item.conversation,
            "values": [(k, _value(k, v)) for k, v in item.values.items()],
            "events": item.events}


def _value(key: str, value: Any) -> str | Markup:
    if isinstance(value, datetime):
        return when(value)
    if key.endswith("seconds") and value is not None:
        return business_time(round(value))
    if key.endswith("conversation_id") and value is not None:
        return Markup('<a href="{}">#{}</a>').format(
            url_for("web.conversation", conversation_id=value), value)
    return "—" if value is None else str(value)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def _csv(filename: str, lines: Iterable[Iterable[Any]]) -> Response:
    body = "".join(csv_line([str(cell) for cell in line]) for line in lines)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})
