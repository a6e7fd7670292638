"""The simulator's plan: realistic calls, a few events twice, a few crossed on the way."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from helpdesk.call_simulator import Cast, call_steps, plan

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CAST = Cast(["Hotline"], ["a@staff.example", "b@staff.example"])


def by_call(postings):
    calls = defaultdict(list)
    for posting in postings:
        calls[posting.body["call_id"]].append(posting)
    return calls


def test_calls_start_at_the_rate_asked_for_the_minutes_asked():
    postings = plan(random.Random(1), CAST, rate=60, minutes=10, start=START)
    starts = [p.at for p in postings if p.body["event"] == "queued"]
    assert 500 < len(set(p.body["call_id"] for p in postings)) < 700
    assert max(starts) < 600
    assert [p.at for p in postings] == sorted(p.at for p in postings)


def test_every_scenario_happens_with_agents_and_queues_named():
    postings = plan(random.Random(2), CAST, rate=60, minutes=10, start=START)
    events = Counter(p.body["event"] for p in postings)
    assert set(events) == {"queued", "ringing", "answered", "transferred", "ended", "missed",
                           "voicemail"}
    assert all(p.body["queue"] == "Hotline" for p in postings)
    assert {p.body["agent"] for p in postings if "agent" in p.body} == set(CAST.agents)


def test_a_few_events_are_sent_twice_and_a_few_calls_cross_their_last_events():
    calls = by_call(plan(random.Random(3), CAST, rate=60, minutes=10, start=START))
    twice = sum(len(ps) - len({(p.body["event"], p.body["timestamp"]) for p in ps})
                for ps in calls.values())
    crossed = sum(any(a.body["timestamp"] > b.body["timestamp"] for a, b in pairwise(ps))
                  for ps in calls.values())
    assert twice > 0 and crossed > 0
    assert twice < 0.15 * sum(len(ps) for ps in calls.values())
    assert crossed < 0.15 * len(calls)


def test_an_answered_call_is_answered_by_the_agent_it_rang_then_ends():
    rng = random.Random(4)
    for _ in range(200):
        steps = call_steps(rng, CAST)
        assert [s[0] for s in steps] == sorted(s[0] for s in steps)
        kinds = [s[1] for s in steps]
        if "answered" in kinds:
            ringing, answered = steps[kinds.index("ringing")], steps[kinds.index("answered")]
            assert ringing[2]["agent"] == answered[2]["agent"] and kinds[-1] == "ended"


def test_without_agents_nobody_answers():
    rng = random.Random(5)
    kinds = {s[1] for _ in range(200) for s in call_steps(rng, Cast([], []))}
    assert kinds.isdisjoint({"ringing", "answered", "transferred"})


def test_speed_compresses_the_delays_and_the_timestamps_follow():
    slow = plan(random.Random(6), CAST, rate=6, minutes=1, start=START)
    fast = plan(random.Random(6), CAST, rate=6, minutes=1, start=START, speed=10)
    assert max(p.at for p in fast) == pytest.approx(max(p.at for p in slow) / 10)
    first = fast[0]
    assert datetime.fromisoformat(first.body["timestamp"]) > START
