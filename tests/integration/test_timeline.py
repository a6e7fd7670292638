"""The shared customer history: newest first, keyset pages, filters (SQLite and PostgreSQL)."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.models import Channel, TimelineEvent
from helpdesk.services import conversations
from helpdesk.services.conversations import NewMessage
from helpdesk.services.timeline import customer_timeline

NOON = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def add_events(uow, customer_id, stamps, type_="call.logged", channel="phone"):
    """Write history rows directly, at chosen times, and return their ids in insert order."""
    rows = [TimelineEvent(customer_id=customer_id, type=type_, channel=channel,
                          actor_kind="system", occurred_at=stamp) for stamp in stamps]
    uow.session.add_all(rows)
    uow.session.commit()
    return [row.id for row in rows]


def every_page(session, customer_id, limit, **filters):
    pages, cursor = [], None
    while True:
        page = customer_timeline(session, customer_id, limit=limit, cursor=cursor, **filters)
        pages.append([e.id for e in page.events])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_history_from_every_channel_newest_first(make, uow):
    customer = make.customer()
    email = make.conversation(customer=customer, channel=Channel.EMAIL)
    chat = make.conversation(customer=customer, channel=Channel.CHAT)
    agent = Actor("agent", make.user().id)
    conversations.post_message(uow, email.id, NewMessage("Sorry for the wait", agent))
    page = customer_timeline(uow.session, customer.id)
    stamps = [(e.occurred_at, e.id) for e in page.events]
    assert stamps == sorted(stamps, reverse=True)
    assert page.events[0].type == "conversation.status_changed"
    assert {e.conversation_id for e in page.events} == {None, email.id, chat.id}
    assert page.next_cursor is None


def test_pages_are_stable_across_equal_timestamps(make, uow):
    customer = make.customer()
    older = add_events(uow, customer.id, [NOON - timedelta(hours=1)] * 2)
    same = add_events(uow, customer.id, [NOON] * 7)
    newer = add_events(uow, customer.id, [NOON + timedelta(seconds=1)])
    expected = [*newer, *reversed(same), *reversed(older)]
    pages = every_page(uow.session, customer.id, 3, types=["call.logged"])
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert [i for p in pages for i in p] == expected


def test_a_cursor_keeps_its_place_when_newer_events_arrive(make, uow):
    customer = make.customer()
    ids = add_events(uow, customer.id, [NOON] * 4)
    first = customer_timeline(uow.session, customer.id, limit=2, types=["call.logged"])
    add_events(uow, customer.id, [NOON + timedelta(minutes=5), NOON])
    rest = customer_timeline(uow.session, customer.id, limit=5, cursor=first.next_cursor,
                             types=["call.logged"])
    assert [e.id for e in first.events] + [e.id for e in rest.events] == ids[::-1]


def test_filters_by_type_and_channel(make, uow):
    customer = make.customer()
    calls = add_events(uow, customer.id, [NOON, NOON], type_="call.logged", channel="phone")
    emails = add_events(uow, customer.id, [NOON], type_="email.received", channel="email")
    both = customer_timeline(uow.session, customer.id, types=["call.logged", "email.received"])
    assert sorted(e.id for e in both.events) == sorted(calls + emails)
    by_channel = customer_timeline(uow.session, customer.id, channel="email")
    assert [e.id for e in by_channel.events] == emails
    nothing = customer_timeline(uow.session, customer.id, types=["call.logged"], channel="email")
    assert nothing.events == []


def test_only_this_customers_history(make, uow):
    mine, other = make.customer(), make.customer()
    add_events(uow, other.id, [NOON])
    page = customer_timeline(uow.session, mine.id)
    assert {e.customer_id for e in page.events} == {mine.id}


def forged(payload):
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


BAD_CURSORS = [
    "not a cursor", "%%%", forged(["yesterday", 3]), forged(["2026-01-15T12:00:00", 3]),
    forged(["2026-01-15T12:00:00+00:00", "3"]), forged(["2026-01-15T12:00:00+00:00", True]),
    forged({"at": 1, "id": 2}), forged([1, 2, 3]), forged("ab"),
]


def test_a_bad_cursor_or_limit_is_a_validation_error_naming_it(make, uow):
    customer = make.customer()
    for cursor in BAD_CURSORS:
        with pytest.raises(ValidationFailed) as refused:
            customer_timeline(uow.session, customer.id, cursor=cursor)
        assert refused.value.field == "cursor", cursor
    with pytest.raises(ValidationFailed) as refused:
        customer_timeline(uow.session, customer.id, limit=0)
    assert refused.value.field == "limit"


def test_unknown_customer_is_not_found(uow):
    with pytest.raises(NotFound):
        customer_timeline(uow.session, 4040)


def test_system_actions_carry_no_actor_id(make, uow):
    customer = make.customer()
    assert {(e.actor_kind, e.actor_id) for e in customer_timeline(uow.session,
                                                                  customer.id).events} == {
        (SYSTEM.kind, None)}
