"""A customer's timeline page is read in order from an index, with or without a channel
or type filter, first page or deep (SQLite and PostgreSQL); the timings are in
benchmarks/customer_timeline.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from helpdesk.models import TimelineEvent
from helpdesk.orm import query_plan
from helpdesk.services.timeline import customer_timeline, timeline_query

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("channel", "types", "index"), [
    (None, None, "ix_timeline_customer_time"),
    ("chat", None, "ix_timeline_customer_channel_time"),
    (None, ["conversation.rated"], "ix_timeline_customer_time"),
    ("chat", ["conversation.rated"], "ix_timeline_customer_channel_time")])
def test_first_and_deep_pages_use_the_index_without_sorting(make, uow, channel, types, index):
    customer = make.customer()
    uow.session.add_all(TimelineEvent(
        customer_id=customer.id, type=("message.posted", "conversation.rated")[n % 3 == 0],
        channel=("chat", "email")[n % 2], actor_kind="customer",
        occurred_at=START + timedelta(minutes=n)) for n in range(600))
    uow.session.commit()
    deep = customer_timeline(uow.session, customer.id, limit=40, channel=channel,
                             types=types).next_cursor
    if uow.session.get_bind().dialect.name == "postgresql":
        # So few rows would be read whole; the benchmark shows the planner's own choice.
        uow.session.execute(text("SET LOCAL enable_seqscan = off"))
        uow.session.execute(text("SET LOCAL enable_bitmapscan = off"))
    for cursor in (None, deep):
        plan = query_plan(uow.session, timeline_query(customer.id, cursor=cursor,
                                                      channel=channel, types=types).limit(26))
        assert index in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
