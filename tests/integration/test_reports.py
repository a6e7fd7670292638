"""Each report metric on a week whose every number can be worked out by hand.

The week of Monday 3 to Sunday 9 March 2025 in Paris (UTC+1). Queue Support has business
hours (Monday to Friday 09:00-12:30 and 13:30-18:00) and an SLA policy (normal priority: first
response 60, resolution 480 business minutes); queue Sales has neither. Agents Alice and Bob.

    C1 ada    email  Support  Mon 10:00 opened, 10:15 assigned to Alice, 10:30 Alice replies,
                              11:00 Alice solves, 11:10 rated 5
    C2 bruno  email  Support  Mon 17:00 opened, Tue 09:00 assigned to Alice, 09:30 she replies,
                              10:00 she solves, 10:10 rated 2
    C3 chloe  chat   Sales    Wed 14:00 opened, 14:10 Bob replies (stays open)
    C4 david  chat   -        Thu 09:00 opened with the assistant, 09:01 it answers, 09:05 it
                              solves, 09:06 rated 4
    C5 david  email  Support  Sun 08:05 opened: david is back 71 hours after C4's solve
    C6 emma   chat   -        Thu 10:00 opened with the assistant, 10:01 it answers, 10:05 solves
    C7 emma   phone  Sales    Sun 11:05 opened: emma is back 73 hours after C6's solve
    C8 ada    chat   Support  Fri 10:00 opened with the assistant, 10:01 it answers, 10:02 hands
                              over (asked_for_human), 10:10 assigned to Bob, 10:20 Bob replies,
                              10:30 Bob solves
    C9 chloe  chat   Support  Fri 11:00 opened with the assistant, 11:01 it answers, 11:02 hands
                              over (low_confidence); nobody answers

Presence: Alice online Mon 09:00-12:00 and 13:00-18:00; Bob online from Sun 2 March 23:00 to
Mon 01:00, and Wed 14:00-15:00. The SLA worker runs on Sun 12:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Channel, ConversationStatus, Owner, Presence, Role
from helpdesk.orm import clock_at
from helpdesk.services import conversations, csat, queues, reports, segments, sla_settings, staff
from helpdesk.services.conversations import BOT_ACTOR, NewMessage
from helpdesk.sla_clock import WEEKDAYS
from helpdesk.sla_triggers import check_clocks

PARIS = ZoneInfo("Europe/Paris")
OFFICE = {day: ["09:00-12:30", "13:30-18:00"] for day in WEEKDAYS[:5]}
TARGETS = {"normal": {"first_response": 60, "resolution": 480}}
MONDAY, SUNDAY = date(2025, 3, 3), date(2025, 3, 9)


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=PARIS)


@dataclass
class Week:
    app: object
    ids: dict[str, int]

    def report(self, name: str, **filters) -> reports.Report:
        with self.app.app_context():
            f = self.filters(**filters)
            return reports.run(db.session, name, f)

    def drill(self, name: str, metric: str, key: str, **filters) -> list[tuple[str, dict]]:
        """The drill-down's conversations, by their name in the fixture, with their values."""
        names = {v: k for k, v in self.ids.items() if k.startswith("C")}
        with self.app.app_context():
            page = reports.drill_down(db.session, name, self.filters(**filters), metric, key,
                                      per_page=100)
            return [(names[item.conversation.id], item.values) for item in page.items]

    def filters(self, **filters) -> reports.ReportFilter:
        return reports.report_filter(
            db.session, self.ids["supervisor"], now=paris(9, 23),
            **{"start": MONDAY, "end": SUNDAY, "timezone": "Europe/Paris", **filters})


class Script:
    """Writes the week through the real services, each step at its time."""

    def __init__(self, app) -> None:
        self.app = app

    def do(self, at: datetime, action) -> object:
        with clock_at(at), self.app.app_context(), unit_of_work() as uow:
            return action(uow)

    def open(self, at: datetime, customer: int, channel: Channel, queue: int | None = None,
             owner: Owner = Owner.QUEUE, actor: Actor | None = None) -> int:
        who = Actor("customer", customer)
        first = None if actor is SYSTEM else NewMessage(body="Hello", author=who)
        return self.do(at, lambda uow: conversations.open_conversation(
            uow, actor or who, customer_id=customer, channel=channel, subject="Help",
            queue_id=queue, owner=owner, first_message=first).id)

    def say(self, at: datetime, conversation: int, author: Actor) -> None:
        self.do(at, lambda uow: conversations.post_message(
            uow, conversation, NewMessage(body="Here you are", author=author)))

    def assign(self, at: datetime, conversation: int, agent: int) -> None:
        self.do(at, lambda uow: conversations.assign(uow, Actor("agent", agent), conversation,
                                                     assignee_id=agent))

    def solve(self, at: datetime, conversation: int, actor: Actor) -> None:
        self.do(at, lambda uow: conversations.change_status(uow, actor, conversation,
                                                            ConversationStatus.SOLVED))

    def hand_over(self, at: datetime, conversation: int, reason: str, queue: int) -> None:
        self.do(at, lambda uow: conversations.hand_over(
            uow, BOT_ACTOR, conversation, owner=Owner.QUEUE, reason=reason, queue_id=queue))

    def rate(self, at: datetime, conversation: int, customer: int, rating: int) -> None:
        self.do(at, lambda uow: csat.rate(uow, Actor("customer", customer), conversation,
                                          rating=rating))

    def presence(self, at: datetime, user: int, presence: Presence) -> None:
        self.do(at, lambda uow: staff.set_presence(uow, Actor("agent", user), user, presence))


@pytest.fixture
def week(app, make, silent_assistant) -> Week:
    alice, bob = make.user(Role.AGENT, name="Alice"), make.user(Role.AGENT, name="Bob")
    supervisor = make.user(Role.SUPERVISOR)
    support, sales = make.queue("Support"), make.queue("Sales")
    people = {name: make.customer(name, email=f"{name}@{domain}.example").id
              for name, domain in (("ada", "vip"), ("bruno", "mail"), ("chloe", "mail"),
                                   ("david", "vip"), ("emma", "mail"))}
    with app.app_context(), unit_of_work() as uow:
        calendar = sla_settings.create_calendar(uow, SYSTEM, name="Paris office",
                                                timezone="Europe/Paris", hours=OFFICE)
        policy = sla_settings.create_policy(uow, SYSTEM, name="Standard",
                                            calendar_id=calendar.id, targets=TARGETS)
        queues.update_queue(uow, SYSTEM, support.id, sla_policy_id=policy.id,
                            business_hours_id=calendar.id)
    s, a, b = Script(app), Actor("agent", alice.id), Actor("agent", bob.id)
    ids = {"alice": alice.id, "bob": bob.id, "supervisor": supervisor.id,
           "support": support.id, "sales": sales.id, **people}

    s.presence(paris(2, 23), bob.id, Presence.ONLINE)
    s.presence(paris(3, 1), bob.id, Presence.OFFLINE)
    s.presence(paris(3, 9), alice.id, Presence.ONLINE)
    ids["C1"] = c1 = s.open(paris(3, 10), people["ada"], Channel.EMAIL, support.id)
    s.assign(paris(3, 10, 15), c1, alice.id)
    s.say(paris(3, 10, 30), c1, a)
    s.solve(paris(3, 11), c1, a)
    s.rate(paris(3, 11, 10), c1, people["ada"], 5)
    s.presence(paris(3, 12), alice.id, Presence.AWAY)
    s.presence(paris(3, 13), alice.id, Presence.ONLINE)
    ids["C2"] = c2 = s.open(paris(3, 17), people["bruno"], Channel.EMAIL, support.id)
    s.presence(paris(3, 18), alice.id, Presence.OFFLINE)
    s.assign(paris(4, 9), c2, alice.id)
    s.say(paris(4, 9, 30), c2, a)
    s.solve(paris(4, 10), c2, a)
    s.rate(paris(4, 10, 10), c2, people["bruno"], 2)

    s.presence(paris(5, 14), bob.id, Presence.ONLINE)
    ids["C3"] = c3 = s.open(paris(5, 14), people["chloe"], Channel.CHAT, sales.id)
    s.say(paris(5, 14, 10), c3, b)
    s.presence(paris(5, 15), bob.id, Presence.OFFLINE)

    ids["C4"] = c4 = s.open(paris(6, 9), people["david"], Channel.CHAT, owner=Owner.BOT)
    s.say(paris(6, 9, 1), c4, BOT_ACTOR)
    s.solve(paris(6, 9, 5), c4, BOT_ACTOR)
    s.rate(paris(6, 9, 6), c4, people["david"], 4)
    ids["C6"] = c6 = s.open(paris(6, 10), people["emma"], Channel.CHAT, owner=Owner.BOT)
    s.say(paris(6, 10, 1), c6, BOT_ACTOR)
    s.solve(paris(6, 10, 5), c6, BOT_ACTOR)

    ids["C8"] = c8 = s.open(paris(7, 10), people["ada"], Channel.CHAT, owner=Owner.BOT)
    s.say(paris(7, 10, 1), c8, BOT_ACTOR)
    s.hand_over(paris(7, 10, 2), c8, "asked_for_human", support.id)
    s.assign(paris(7, 10, 10), c8, bob.id)
    s.say(paris(7, 10, 20), c8, b)
    s.solve(paris(7, 10, 30), c8, b)
    ids["C9"] = c9 = s.open(paris(7, 11), people["chloe"], Channel.CHAT, owner=Owner.BOT)
    s.say(paris(7, 11, 1), c9, BOT_ACTOR)
    s.hand_over(paris(7, 11, 2), c9, "low_confidence", support.id)

    ids["C5"] = s.open(paris(9, 8, 5), people["david"], Channel.EMAIL, support.id)
    ids["C7"] = s.open(paris(9, 11, 5), people["emma"], Channel.PHONE, sales.id, actor=SYSTEM)
    with clock_at(paris(9, 12)), app.app_context():
        check_clocks(paris(9, 12))
    return Week(app, ids)


def rows(report: reports.Report, table: str, *columns: str) -> list[tuple]:
    return [tuple(row.cells[c] for c in columns) for row in report.table(table).rows]


# --- volumes ----------------------------------------------------------------------------------

def test_volumes_per_day_hour_channel_and_queue(week):
    report = week.report("volumes")
    assert rows(report, "by_day", "day", "conversations") == [
        ("2025-03-03", 2), ("2025-03-04", 0), ("2025-03-05", 1), ("2025-03-06", 2),
        ("2025-03-07", 2), ("2025-03-08", 0), ("2025-03-09", 2)]
    assert {h: n for h, n in rows(report, "by_hour", "hour", "conversations") if n} == {
        "8": 1, "9": 1, "10": 3, "11": 2, "14": 1, "17": 1}
    assert rows(report, "by_channel", "channel", "conversations", "share") == [
        ("chat", 5, 55.6), ("email", 3, 33.3), ("phone", 1, 11.1)]
    queues = {key: (name, n) for key, name, n in rows(report, "by_queue", "queue", "queue_name",
                                                      "conversations")}
    assert queues == {str(week.ids["support"]): ("Support", 5),
                      str(week.ids["sales"]): ("Sales", 2), "none": ("", 2)}


def test_volumes_drill_down_to_the_conversations_and_their_opening(week):
    assert [name for name, _ in week.drill("volumes", "hour", "10")] == ["C1", "C6", "C8"]
    assert [name for name, _ in week.drill("volumes", "day", "2025-03-09")] == ["C5", "C7"]
    with week.app.app_context():
        page = reports.drill_down(db.session, "volumes", week.filters(), "channel", "phone")
    assert [e.type for e in page.items[0].events] == ["conversation.opened"]


def test_days_and_hours_are_local_to_the_time_zone_asked_for(week):
    report = week.report("volumes", timezone="UTC")
    assert {h: n for h, n in rows(report, "by_hour", "hour", "conversations") if n} == {
        "7": 1, "8": 1, "9": 3, "10": 2, "13": 1, "16": 1}


def test_filters_by_channel_queue_and_segment(week):
    by_channel = week.report("volumes", channel="email")
    assert sum(n for (n,) in rows(by_channel, "by_day", "conversations")) == 3
    by_queue = week.report("volumes", queue_id=week.ids["sales"])
    assert rows(by_queue, "by_channel", "channel", "conversations") == [("chat", 1),
                                                                       ("phone", 1)]
    with week.app.app_context(), unit_of_work() as uow:
        vip = segments.create_segment(uow, SYSTEM, name="VIP", shared=True, may_share=True,
                                      conditions={"all": [{"field": "email_domain", "op": "is",
                                                           "value": "vip.example"}]}).id
    by_segment = week.report("volumes", segment_id=vip)
    assert sum(n for (n,) in rows(by_segment, "by_day", "conversations")) == 4  # ada, david


# --- response and resolution times --------------------------------------------------------------

def test_first_response_times_wall_clock_and_business(week):
    report = week.report("response_times")
    table = {row.cells["group"]: row.cells for row in report.table("first_response").rows}
    # Answered: C3 600 s, C8 1,200 s, C1 1,800 s, C2 59,400 s (business: 1.5 h, 5,400 s).
    assert table["all"] == {"group": "all", "group_name": "", "conversations": 4, "pending": 5,
                            "median_seconds": 1500, "p90_seconds": 42120,
                            "business_median_seconds": 1500, "business_p90_seconds": 4320}
    support = table[f"queue:{week.ids['support']}"]
    assert (support["conversations"], support["median_seconds"],
            support["business_median_seconds"]) == (3, 1800, 1800)
    assert table["channel:chat"]["median_seconds"] == 900


def test_resolution_times_wall_clock_and_business(week):
    report = week.report("response_times")
    table = {row.cells["group"]: row.cells for row in report.table("resolution").rows}
    # Resolved: C4 300, C6 300, C8 1,800, C1 3,600, C2 61,200 s (business 7,200 s).
    assert table["all"] == {"group": "all", "group_name": "", "conversations": 5, "pending": 4,
                            "median_seconds": 1800, "p90_seconds": 38160,
                            "business_median_seconds": 1800, "business_p90_seconds": 5760}


def test_response_times_drill_down_the_longest_first(week):
    drilled = week.drill("response_times", "first_response", "all")
    assert [(name, v["seconds"], v["business_seconds"]) for name, v in drilled] == [
        ("C2", 59400, 5400), ("C1", 1800, 1800), ("C8", 1200, 1200), ("C3", 600, 600)]


# --- SLA ----------------------------------------------------------------------------------------

def test_sla_compliance_and_breaches(week):
    report = week.report("sla")
    assert rows(report, "compliance", "metric", "met", "breached", "running",
                "compliance") == [("first_response", 2, 2, 1, 50.0),
                                  ("next_response", 0, 0, 0, None),
                                  ("resolution", 3, 0, 2, 100.0)]
    assert rows(report, "breaches", "metric", "breaches") == [
        ("first_response", 2), ("next_response", 0), ("resolution", 0)]
    assert [n for n, _ in week.drill("sla", "breached", "first_response")] == ["C2", "C9"]
    assert [n for n, _ in week.drill("sla", "breaches", "first_response")] == ["C2", "C9"]


# --- backlog ------------------------------------------------------------------------------------

def test_backlog_at_the_end_of_each_day(week):
    report = week.report("backlog")
    assert rows(report, "backlog", "day", "opened", "resolved", "reopened", "open_at_end") == [
        ("2025-03-03", 2, 1, 0, 1), ("2025-03-04", 0, 1, 0, 0), ("2025-03-05", 1, 0, 0, 1),
        ("2025-03-06", 2, 2, 0, 1), ("2025-03-07", 2, 1, 0, 2), ("2025-03-08", 0, 0, 0, 2),
        ("2025-03-09", 2, 0, 0, 4)]


def test_backlog_counts_what_was_open_before_the_range_and_reopenings(week):
    script = Script(week.app)
    script.do(paris(10, 9), lambda uow: conversations.post_message(
        uow, week.ids["C1"], NewMessage(body="Still broken", author=Actor(
            "customer", week.ids["ada"]))))
    report = week.report("backlog", start=date(2025, 3, 8), end=date(2025, 3, 10))
    assert rows(report, "backlog", "day", "reopened", "open_at_end") == [
        ("2025-03-08", 0, 2), ("2025-03-09", 0, 4), ("2025-03-10", 1, 5)]


def test_backlog_drill_down_lists_the_open_conversations_and_their_last_change(week):
    drilled = week.drill("backlog", "open_at_end", "2025-03-07")
    assert drilled == [("C3", {"status": "open"}), ("C9", {"status": "new"})]
    assert [n for n, _ in week.drill("backlog", "resolved", "2025-03-06")] == ["C4", "C6"]


# --- CSAT ---------------------------------------------------------------------------------------

def test_csat_by_agent_queue_channel_and_rating(week):
    report = week.report("csat")
    alice, support = str(week.ids["alice"]), str(week.ids["support"])
    assert rows(report, "by_agent", "agent", "agent_name", "ratings", "average", "satisfied",
                "csat") == [(alice, "Alice", 2, 3.5, 1, 50.0), ("assistant", "", 1, 4.0, 1, 100.0)]
    assert rows(report, "by_queue", "queue", "ratings", "average") == [(support, 2, 3.5),
                                                                      ("none", 1, 4.0)]
    assert rows(report, "by_channel", "channel", "ratings", "csat") == [("email", 2, 50.0),
                                                                       ("chat", 1, 100.0)]
    assert rows(report, "distribution", "rating", "ratings") == [(1, 0), (2, 1), (3, 0),
                                                                 (4, 1), (5, 1)]
    assert [n for n, _ in week.drill("csat", "agent", alice)] == ["C1", "C2"]


# --- agents -------------------------------------------------------------------------------------

def test_agent_activity_handled_solved_handling_time_and_time_online(week):
    report = week.report("agents")
    assert rows(report, "agents", "agent_name", "handled", "replies", "solved",
                "average_handling_seconds", "online_seconds") == [
        ("Alice", 2, 2, 2, 3150, 28800),  # handled 45 min and 1 h; online 3 h + 5 h
        ("Bob", 2, 2, 1, 1200, 7200)]  # online from midnight to 01:00, and 1 h on Wednesday
    bob = str(week.ids["bob"])
    assert week.drill("agents", "solved", bob) == [
        ("C8", {"solved_at": paris(7, 10, 30), "handling_seconds": 1200})]
    assert [n for n, _ in week.drill("agents", "handled", bob)] == ["C3", "C8"]


# --- the assistant ------------------------------------------------------------------------------

def test_assistant_involvement_handoffs_and_resolution(week):
    report = week.report("assistant")
    assert rows(report, "summary", "measure", "conversations", "share") == [
        ("conversations", 9, None), ("involved", 4, 44.4), ("handed_off", 2, 50.0),
        ("solved_without_human", 2, 50.0), ("came_back", 1, 50.0),
        ("awaiting_window", 0, 0.0), ("resolved", 1, 25.0)]
    assert rows(report, "handoff_reasons", "reason", "handoffs", "share") == [
        ("asked_for_human", 1, 50.0), ("low_confidence", 1, 50.0)]
    assert rows(report, "csat", "ratings", "average", "csat") == [(1, 4.0, 100.0)]


def test_assistant_resolution_is_auditable_back_71_hours_later_is_not_resolved(week):
    """C4's customer wrote by email 71 h after its solve: came back. C6's called 73 h after:
    resolved. The drill-down says where and when each came back."""
    assert week.drill("assistant", "resolved", "all") == [
        ("C6", {"outcome": "resolved", "resolved_at": paris(6, 10, 5)})]
    [(name, values)] = week.drill("assistant", "came_back", "all")
    assert (name, values["came_back_at"], values["came_back_channel"],
            values["came_back_conversation_id"]) == (
        "C4", paris(9, 8, 5), "email", week.ids["C5"])
    assert [n for n, _ in week.drill("assistant", "reason", "low_confidence")] == ["C9"]


def test_a_solve_within_the_last_72_hours_waits(week):
    script = Script(week.app)
    later = script.open(paris(9, 20), week.ids["bruno"], Channel.CHAT, owner=Owner.BOT)
    script.say(paris(9, 20, 1), later, BOT_ACTOR)
    script.solve(paris(9, 20, 2), later, BOT_ACTOR)
    with clock_at(paris(11, 20)):  # 48 h later
        report = week.report("assistant")
    assert rows(report, "summary", "measure", "conversations")[5:] == [
        ("awaiting_window", 1), ("resolved", 1)]


# --- input --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("filters", "field"), [
    ({"start": date(2025, 3, 9), "end": date(2025, 3, 1)}, "end"),
    ({"start": date(2024, 1, 1), "end": date(2025, 3, 1)}, "end"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"channel": "pigeon"}, "channel"),
    ({"queue_id": 999_999}, "queue_id"),
    ({"segment_id": 999_999}, "segment_id"),
])
def test_bad_filters_are_refused_naming_the_field(week, filters, field):
    with pytest.raises(DomainError) as refused:
        week.report("volumes", **filters)
    assert refused.value.field == field


def test_unknown_drill_downs_are_refused_naming_the_field(week):
    with pytest.raises(ValidationFailed) as refused:
        week.drill("volumes", "colour", "red")
    assert refused.value.field == "metric"
    with pytest.raises(ValidationFailed) as refused:
        week.drill("backlog", "open_at_end", "2025-04-01")
    assert refused.value.field == "key"
