"""Reports for supervisors: volumes, response times, SLA compliance, backlog, satisfaction,
agent activity and the assistant, each over a range of local days with optional filters
(channel, queue, customer segment); every number can list the conversations behind it with
the timeline events that made them count (``drill_down``). Definitions: docs/reports.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.errors import ValidationFailed
from helpdesk.models import Conversation, TimelineEvent
from helpdesk.services.queries import Page
from helpdesk.services.reports import (
    agents,
    assistant,
    backlog,
    csat,
    service_levels,
    times,
    volumes,
)
from helpdesk.services.reports.scope import ReportFilter, report_filter
from helpdesk.services.reports.tables import Drill, DrillRef, Report, Row, Table

__all__ = ["REPORTS", "DrillItem", "DrillRef", "Report", "ReportFilter", "Row", "Table",
           "drill_down", "report_filter", "run"]

EVENTS_PER_CONVERSATION = 20


@dataclass(frozen=True)
class Family:
    report: Callable[[Session, ReportFilter], Report]
    drill: Callable[[Session, ReportFilter, str, str], Drill]


REPORTS: dict[str, Family] = {
    "volumes": Family(volumes.report, volumes.drill),
    "response_times": Family(times.report, times.drill),
    "sla": Family(service_levels.report, service_levels.drill),
    "backlog": Family(backlog.report, backlog.drill),
    "csat": Family(csat.report, csat.drill),
    "agents": Family(agents.report, agents.drill),
    "assistant": Family(assistant.report, assistant.drill),
}


@dataclass(frozen=True)
class DrillItem:
    """One conversation behind a number: what identifies it, its values for the metric, and
    the timeline events that show why it counts."""

    conversation: Conversation
    values: dict[str, Any]
    events: list[TimelineEvent]


def run(session: Session, name: str, filters: ReportFilter) -> Report:
    """The report ``name`` (one of ``REPORTS``) over the filters."""
    return _family(name).report(session, filters)


def drill_down(session: Session, name: str, filters: ReportFilter, metric: str, key: str, *,
               page: int = 1, per_page: int = 25) -> Page[DrillItem]:
    """The conversations behind one number of a report (``metric`` and ``key`` as its
    ``DrillRef`` gives them), a page at a time, with their events."""
    drill = _family(name).drill(session, filters, metric, key)
    rows = drill.rows[(page - 1) * per_page:page * per_page]
    ids = [cid for cid, _ in rows]
    found = {c.id: c for c in session.scalars(select(Conversation).where(
        Conversation.id.in_(ids)))} if ids else {}
    events = _events(session, drill, ids)
    items = [DrillItem(found[cid], values, events.get(cid, [])) for cid, values in rows
             if cid in found]
    return Page(items, len(drill.rows), page, per_page)


def _events(session: Session, drill: Drill, ids: list[int]) -> dict[int, list[TimelineEvent]]:
    if not ids:
        return {}
    by_conversation: dict[int, list[TimelineEvent]] = defaultdict(list)
    for event in session.scalars(
            select(TimelineEvent).where(TimelineEvent.conversation_id.in_(ids),
                                        TimelineEvent.type.in_(drill.event_types),
                                        *drill.event_where)
            .order_by(TimelineEvent.occurred_at, TimelineEvent.id)):
        kept = by_conversation[event.conversation_id]
        if len(kept) < EVENTS_PER_CONVERSATION:
            kept.append(event)
    return by_conversation


def _family(name: str) -> Family:
    if name not in REPORTS:
        raise ValidationFailed(f"{name!r} is not a report: {', '.join(REPORTS)}",
                               field="report")
    return REPORTS[name]
