"""Reading the shared customer history: newest first, keyset-paginated."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from helpdesk.errors import ValidationFailed
from helpdesk.models import Customer, TimelineEvent
from helpdesk.services.common import get_or_404


@dataclass(frozen=True)
class TimelinePage:
    events: list[TimelineEvent]
    next_cursor: str | None


def customer_timeline(session: Session, customer_id: int, *, limit: int = 25,
                      cursor: str | None = None, types: list[str] | None = None,
                      channel: str | None = None) -> TimelinePage:
    """One customer's history across every channel, newest first; ``types`` (any of) and
    ``channel`` narrow it, pages follow ``next_cursor``."""
    if limit < 1:
        raise ValidationFailed("limit must be at least 1", field="limit")
    get_or_404(session, Customer, customer_id)
    query = timeline_query(customer_id, cursor=cursor, types=types, channel=channel)
    rows = list(session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return TimelinePage(rows, encode_cursor(rows[-1]) if more else None)


def timeline_query(customer_id: int, *, cursor: str | None = None,
                   types: list[str] | None = None, channel: str | None = None) -> Select:
    """The events after ``cursor``, newest first: read in order from the index on
    (customer, occurred_at, id), or on (customer, channel, occurred_at, id) for a channel."""
    query = select(TimelineEvent).where(TimelineEvent.customer_id == customer_id)
    if types:
        query = query.where(TimelineEvent.type.in_(types))
    if channel:
        query = query.where(TimelineEvent.channel == channel)
    if cursor:
        occurred_at, last_id = decode_cursor(cursor)
        # The first bound starts the index scan at the cursor (a deep page reads no more
        # than the first); the second settles the events of that same moment.
        query = query.where(TimelineEvent.occurred_at <= occurred_at,
                            or_(TimelineEvent.occurred_at < occurred_at,
                                TimelineEvent.id < last_id))
    return query.order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())


def encode_cursor(event: TimelineEvent) -> str:
    raw = json.dumps([event.occurred_at.isoformat(), event.id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, ident = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        occurred_at = datetime.fromisoformat(stamp)
        if occurred_at.tzinfo is None or isinstance(ident, bool) or not isinstance(ident, int):
            raise ValueError(cursor)
    except (ValueError, TypeError):
        raise ValidationFailed("cursor is not one this server issued", field="cursor") from None
    return occurred_at, ident
