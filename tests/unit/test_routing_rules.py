"""The strategies' rankings, capacity and the explanations, without a database."""

from datetime import UTC, datetime

import pytest

from helpdesk.models import RoutingStrategy
from helpdesk.routing_rules import (
    Agent,
    Item,
    Member,
    QueueRules,
    choose,
    normalized_skills,
)

EARLY, LATE = datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 1, 5, 10, tzinfo=UTC)


def member(user_id, *, load=None, capacity=None, skills=(), last=None):
    return Member(Agent(user_id, frozenset(skills), capacity or {}, load or {}), last)


def rules(strategy, *members, weights=None, total=None):
    return QueueRules(7, RoutingStrategy(strategy), weights or {},
                      members=len(members) if total is None else total, online=list(members))


def chosen(queue, item=None):
    choice = choose(queue, item or Item(1, "chat"))
    return choice.member.agent.user_id if choice.member else choice.why["reason"]


def test_round_robin_takes_whoever_the_queue_served_longest_ago():
    assert chosen(rules("round_robin", member(1, last=LATE), member(2, last=EARLY))) == 2
    assert chosen(rules("round_robin", member(1, last=EARLY), member(2))) == 2  # never served
    assert chosen(rules("round_robin", member(2), member(1))) == 1  # then the lower id


def test_least_loaded_weighs_each_channel():
    ada = member(1, load={"chat": 1})  # 1.0
    bob = member(2, load={"email": 4})  # 0.8
    assert chosen(rules("least_loaded", ada, bob)) == 2
    assert chosen(rules("least_loaded", ada, bob, weights={"email": 1})) == 1
    tied = rules("least_loaded", member(1, load={"chat": 1}, last=LATE),
                 member(2, load={"chat": 1}, last=EARLY))
    assert chosen(tied) == 2


def test_skills_best_match_first_then_least_loaded():
    item = Item(1, "chat", ("billing", "fr"))
    french = member(1, skills={"fr"})
    both_busy = member(2, skills={"fr", "billing"}, load={"chat": 2})
    both_idle = member(3, skills={"fr", "billing"}, load={"chat": 1})
    assert chosen(rules("skills", french, both_busy, both_idle), item) == 3
    assert chosen(rules("skills", french, both_busy), item) == 2
    assert chosen(rules("skills", member(4), french), item) == 1


def test_nobody_past_capacity_defaults_per_channel_and_zero_means_none():
    assert Agent(1, frozenset(), {}).limit("chat") == 3
    assert Agent(1, frozenset(), {}).limit("email") == 20
    assert Agent(1, frozenset(), {"email": 0}).room("email") == 0
    full = member(1, load={"chat": 2}, capacity={"chat": 2})
    assert chosen(rules("least_loaded", full, member(2, load={"chat": 9}, capacity={"chat": 10}))
                  ) == 2
    assert chosen(rules("least_loaded", full)) == "all_at_capacity"
    gone = member(3)
    gone.agent.online = False
    assert chosen(rules("round_robin", gone)) == "all_at_capacity"


def test_why_nobody():
    assert chosen(rules("skills", total=0)) == "no_members"
    assert chosen(rules("skills", total=3)) == "nobody_online"


def test_the_explanation_of_an_assignment():
    queue = rules("skills", member(5, load={"chat": 1, "email": 2}, skills={"fr"}))
    why = choose(queue, Item(1, "chat", ("billing", "fr"))).why
    assert why == {"strategy": "skills", "queue_id": 7, "assignee_id": 5, "channel": "chat",
                   "load": 1, "capacity": 3, "weighted_load": 1.4,
                   "skills_required": ["billing", "fr"], "skills_matched": ["fr"],
                   "online": 1, "with_room": 1}


def test_a_manual_queue_has_no_ranking():
    with pytest.raises(ValueError, match="manual"):
        choose(rules("manual", member(1)), Item(1, "chat"))


def test_skills_are_compared_trimmed_and_lower_cased():
    assert normalized_skills([" FR", "fr", "", "Billing "]) == ("billing", "fr")
