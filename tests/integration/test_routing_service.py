"""Routing against a real database (SQLite and PostgreSQL): every strategy, capacity,
ordering, presence, overflow, and the timeline's explanation. Routing runs by itself
after each commit that can change it, as in production."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import unit_of_work
from helpdesk.models import (
    Channel,
    Conversation,
    ConversationStatus,
    Presence,
    Priority,
    TimelineEvent,
    User,
)
from helpdesk.orm import utcnow
from helpdesk.routing_triggers import overflow_and_route, set_idle_staff_away
from helpdesk.services import conversations, queues, routing, staff
from helpdesk.services.conversations import NewMessage


def queue_of(uow, strategy, members, **settings):
    return queues.create_queue(uow, SYSTEM, name=f"Q {strategy} {len(members)} {utcnow()}",
                               channels=["chat", "email", "phone"], routing_strategy=strategy,
                               member_ids=[m.id for m in members], **settings)


def online(uow, *users):
    for user in users:
        staff.set_presence(uow, SYSTEM, user.id, Presence.ONLINE)


def assignee(uow, conversation):
    return uow.session.scalar(select(Conversation.assignee_id)
                              .where(Conversation.id == conversation.id))


def routed(uow, conversation):
    """The ``conversation.routed`` payloads, oldest first."""
    return list(uow.session.scalars(
        select(TimelineEvent.payload).where(TimelineEvent.conversation_id == conversation.id,
                                            TimelineEvent.type == "conversation.routed")
        .order_by(TimelineEvent.id)))


def chat(make, queue, **kwargs):
    return make.conversation(channel=Channel.CHAT, queue_id=queue.id, **kwargs)


def solve(uow, conversation):
    conversations.change_status(uow, SYSTEM, conversation.id, ConversationStatus.SOLVED)


def test_round_robin_serves_each_online_member_in_turn(make, uow):
    ada, bob, cy, away = (make.user() for _ in range(4))
    queue = queue_of(uow, "round_robin", [ada, bob, cy, away])
    online(uow, ada, bob, cy)
    given = [assignee(uow, chat(make, queue)) for _ in range(6)]
    assert given == [ada.id, bob.id, cy.id, ada.id, bob.id, cy.id]
    assert routed(uow, make.conversation(queue_id=queue.id))[0]["assignee_id"] == ada.id


def test_conversations_opened_in_one_commit_are_each_routed_in_order(app, make, uow):
    ada, bob = make.user(), make.user()
    queue = queue_of(uow, "round_robin", [ada, bob])
    online(uow, ada, bob)
    customer = make.customer()
    with app.app_context(), unit_of_work() as batch, batch.one_transaction():
        opened = [conversations.open_conversation(
            batch, Actor("customer", customer.id), customer_id=customer.id,
            channel=Channel.EMAIL, subject=f"Mail {n}", queue_id=queue.id).id for n in range(3)]
    assert [uow.session.scalar(select(Conversation.assignee_id).where(Conversation.id == i))
            for i in opened] == [ada.id, bob.id, ada.id]


def test_least_loaded_weighs_open_items_by_channel(make, uow):
    ada, bob = make.user(), make.user()
    queue = queue_of(uow, "least_loaded", [ada, bob])
    online(uow, ada)
    chat(make, queue)  # ada: one chat, weight 1
    emails = [make.conversation(queue_id=queue.id) for _ in range(4)]
    assert {assignee(uow, e) for e in emails} == {ada.id}  # bob is offline
    online(uow, bob)
    for email in emails:
        conversations.assign(uow, SYSTEM, email.id, assignee_id=bob.id)
    # ada carries 1 chat (1.0), bob 4 emails (4 x 0.2 = 0.8): bob is the less loaded.
    assert assignee(uow, make.conversation(queue_id=queue.id)) == bob.id
    # bob now 1.0, tied with ada: ada waited longer for an item from this queue.
    assert assignee(uow, chat(make, queue)) == ada.id
    why = routed(uow, emails[0])[-1]  # given to ada while she carried her chat
    assert (why["strategy"], why["weighted_load"], why["load"]) == ("least_loaded", 1.0, 0)


def test_channel_weights_are_the_queues(make, uow):
    ada, bob = make.user(), make.user()
    queue = queue_of(uow, "least_loaded", [ada, bob], channel_weights={"email": 2})
    online(uow, ada, bob)
    assert assignee(uow, make.conversation(queue_id=queue.id)) == ada.id  # ada: 2.0
    assert assignee(uow, chat(make, queue)) == bob.id  # bob: 1.0
    assert assignee(uow, chat(make, queue)) == bob.id  # 1.0 < 2.0


def test_skills_go_to_the_best_match_first_then_the_least_loaded(make, uow):
    french = make.user(skills=["FR"])
    both = make.user(skills=["fr", "billing"])
    other_both = make.user(skills=["billing", "fr", "de"], capacity={"email": 1})
    none = make.user()
    queue = queue_of(uow, "manual", [french, both, other_both, none])
    online(uow, french, both, other_both, none)
    first, second, third = (make.conversation(queue_id=queue.id) for _ in range(3))
    for conversation in (first, second, third):
        routing.set_required_skills(uow, SYSTEM, conversation.id, [" fr", "Billing", "fr"])
    conversations.assign(uow, SYSTEM, make.conversation().id, assignee_id=both.id)
    queues.update_queue(uow, SYSTEM, queue.id, routing_strategy="skills")
    assert routing.route_queue(uow, queue.id) == [first.id, second.id, third.id]
    # Both full matches: other_both is less loaded (0 < 1 email), then full (capacity 1);
    # both takes the next; then still both (2 matches) before french (1 match).
    assert [assignee(uow, c) for c in (first, second, third)] == [
        other_both.id, both.id, both.id]
    why = routed(uow, first)[-1]
    assert (why["skills_required"], why["skills_matched"]) == (["billing", "fr"],
                                                              ["billing", "fr"])


def test_skills_rank_but_do_not_exclude(make, uow):
    nobody_fits = make.user(skills=["de"])
    queue = queue_of(uow, "skills", [nobody_fits])
    conversation = make.conversation(queue_id=queue.id)
    routing.set_required_skills(uow, SYSTEM, conversation.id, ["fr"])
    online(uow, nobody_fits)
    assert assignee(uow, conversation) == nobody_fits.id
    assert routed(uow, conversation)[-1]["skills_matched"] == []


def test_nobody_gets_more_than_their_capacity(make, uow):
    ada = make.user(capacity={"chat": 2})
    queue = queue_of(uow, "least_loaded", [ada])
    online(uow, ada)
    chats = [chat(make, queue) for _ in range(3)]
    assert [assignee(uow, c) for c in chats] == [ada.id, ada.id, None]
    assert routing.agent_load(uow.session, ada.id) == {"chat": 2}
    assert routing.route_queue(uow, queue.id) == []
    solve(uow, chats[0])  # ada is freed: the waiting chat is hers
    assert assignee(uow, chats[2]) == ada.id


def test_capacity_is_per_channel_with_defaults_and_zero_means_none(make, uow):
    ada = make.user(capacity={"email": 0})
    queue = queue_of(uow, "round_robin", [ada])
    online(uow, ada)
    assert assignee(uow, make.conversation(queue_id=queue.id)) is None
    chats = [chat(make, queue) for _ in range(4)]  # default chat capacity: 3
    assert [assignee(uow, c) for c in chats] == [ada.id] * 3 + [None]
    phone = make.conversation(channel=Channel.PHONE, queue_id=queue.id)
    assert assignee(uow, phone) == ada.id  # default phone capacity: 1


def test_priority_first_then_longest_waiting(make, uow):
    ada = make.user(capacity={"chat": 1})
    queue = queue_of(uow, "round_robin", [ada])
    old_normal, low, urgent, new_normal = (chat(make, queue) for _ in range(4))
    conversations.set_priority(uow, SYSTEM, low.id, Priority.LOW)
    conversations.set_priority(uow, SYSTEM, urgent.id, Priority.URGENT)
    online(uow, ada)
    served = []
    for _ in range(4):
        current = uow.session.scalar(select(Conversation).where(
            Conversation.assignee_id == ada.id, Conversation.status == ConversationStatus.OPEN))
        served.append(current.id)
        solve(uow, current)
    assert served == [urgent.id, old_normal.id, new_normal.id, low.id]


def test_a_released_chat_keeps_its_place_in_the_wait(make, uow):
    ada, bob = make.user(), make.user(capacity={"chat": 1})
    queue = queue_of(uow, "round_robin", [ada, bob])
    online(uow, ada)
    first = chat(make, queue)
    later = chat(make, queue)
    assert assignee(uow, first) == ada.id
    staff.set_presence(uow, SYSTEM, ada.id, Presence.OFFLINE)  # both go back, nobody online
    online(uow, bob)
    assert (assignee(uow, first), assignee(uow, later)) == (bob.id, None)


def test_going_offline_reroutes_only_the_unanswered_chats(make, uow):
    ada, bob = make.user(), make.user()
    queue = queue_of(uow, "round_robin", [ada, bob])
    online(uow, ada)
    waiting_chat, answered_chat = chat(make, queue), chat(make, queue)
    email = make.conversation(queue_id=queue.id)
    conversations.post_message(uow, answered_chat.id,
                               NewMessage(body="Hello!", author=Actor("agent", ada.id)))
    online(uow, bob)
    staff.set_presence(uow, Actor("agent", ada.id), ada.id, Presence.OFFLINE)
    assert [assignee(uow, c) for c in (waiting_chat, answered_chat, email)] == [
        bob.id, ada.id, ada.id]
    released, assigned = routed(uow, waiting_chat)[-2:]
    assert (released["decision"], released["reason"], released["agent_id"]) == (
        "released", "agent_offline", ada.id)
    assert (assigned["decision"], assigned["assignee_id"]) == ("assigned", bob.id)


def test_away_agents_keep_their_chats_and_get_no_new_ones(make, uow):
    ada = make.user()
    queue = queue_of(uow, "round_robin", [ada])
    online(uow, ada)
    mine = chat(make, queue)
    staff.set_presence(uow, SYSTEM, ada.id, Presence.AWAY)
    waiting = chat(make, queue)
    assert (assignee(uow, mine), assignee(uow, waiting)) == (ada.id, None)
    assert routed(uow, waiting)[-1]["reason"] == "nobody_online"
    online(uow, ada)  # back: the waiting chat is routed at once
    assert assignee(uow, waiting) == ada.id


def test_auto_away_sets_away_the_staff_not_seen_for_a_while(make, uow, app):
    idle, busy = make.user(), make.user()
    online(uow, idle, busy)
    now = utcnow() + timedelta(minutes=20)
    staff.note_activity(uow, busy.id, now - timedelta(minutes=1))
    set_idle_staff_away(now)  # the worker's job: 15 minutes by default
    presences = dict(uow.session.execute(select(User.id, User.presence)
                                         .where(User.id.in_([idle.id, busy.id]))).all())
    assert presences == {idle.id: Presence.AWAY, busy.id: Presence.ONLINE}
    assert app.config["COMPTOIR"].presence_auto_away_seconds == 900


def test_overflow_moves_what_waited_too_long_to_the_fallback_queue(make, uow):
    ada = make.user()
    fallback = queue_of(uow, "round_robin", [ada])
    first = queue_of(uow, "round_robin", [], overflow_queue_id=fallback.id,
                     overflow_after_seconds=60)
    online(uow, ada)
    conversation = chat(make, first)
    assert routed(uow, conversation)[-1]["reason"] == "no_members"
    overflow_and_route(utcnow() + timedelta(seconds=30))
    assert assignee(uow, conversation) is None
    overflow_and_route(utcnow() + timedelta(seconds=61))
    assert assignee(uow, conversation) == ada.id
    overflowed = routed(uow, conversation)[-2]
    assert overflowed["decision"] == "overflowed"
    assert (overflowed["queue_id"], overflowed["overflow_queue_id"]) == (first.id, fallback.id)
    assert overflowed["waited_seconds"] >= 60


def test_the_timeline_says_why_once_per_wait_then_who_got_it(make, uow):
    ada = make.user(capacity={"chat": 1})
    queue = queue_of(uow, "least_loaded", [ada])
    conversation = chat(make, queue)
    for _ in range(3):
        routing.route(uow, conversation.id)
    waiting = routed(uow, conversation)
    assert [w["decision"] for w in waiting] == ["waiting"]
    assert (waiting[0]["reason"], waiting[0]["members"], waiting[0]["online"]) == (
        "nobody_online", 1, 0)
    online(uow, ada)
    assigned = routed(uow, conversation)[-1]
    assert assigned == {"decision": "assigned", "strategy": "least_loaded",
                        "queue_id": queue.id, "assignee_id": ada.id, "channel": "chat",
                        "load": 0, "capacity": 1, "weighted_load": 0.0, "skills_required": [],
                        "skills_matched": [], "online": 1, "with_room": 1}
    full = chat(make, queue)
    assert routed(uow, full)[-1]["reason"] == "all_at_capacity"


def test_a_manual_queue_is_not_routed(make, uow):
    ada = make.user()
    queue = queue_of(uow, "manual", [ada])
    online(uow, ada)
    conversation = chat(make, queue)
    assert routing.route(uow, conversation.id) is None
    assert (assignee(uow, conversation), routed(uow, conversation)) == (None, [])


def test_agents_status_counts_online_busy_away_offline(make, uow):
    free, full, away, gone = (make.user(capacity={"chat": 1, "email": 0, "phone": 0})
                              for _ in range(4))
    queue = queue_of(uow, "manual", [free, full, away, gone])
    online(uow, free, full, away)
    staff.set_presence(uow, SYSTEM, away.id, Presence.AWAY)
    conversations.assign(uow, SYSTEM, chat(make, queue).id, assignee_id=full.id)
    assert routing.agents_status(uow.session, queue.id) == {
        "online": 1, "busy": 1, "away": 1, "offline": 1}
    with pytest.raises(NotFound):
        routing.agents_status(uow.session, 4040)


def test_required_skills_are_checked_naming_the_field(make, uow):
    conversation = make.conversation()
    for skills in (["x" * 65], [f"s{n}" for n in range(21)], "fr"):
        with pytest.raises(ValidationFailed) as refused:
            routing.set_required_skills(uow, SYSTEM, conversation.id, skills)
        assert refused.value.field == "required_skills"
        uow.rollback()


def test_queue_routing_settings_are_checked_naming_the_field(make, uow):
    other = queues.create_queue(uow, SYSTEM, name="Other")
    queue = queues.create_queue(uow, SYSTEM, name="Front", overflow_queue_id=other.id,
                                overflow_after_seconds=120, channel_weights={"chat": 2})
    assert (queue.overflow_queue_id, queue.channel_weights) == (other.id, {"chat": 2.0})
    refusals = [({"overflow_queue_id": queue.id}, "overflow_queue_id"),  # itself
                ({"overflow_queue_id": 4040}, "overflow_queue_id"),
                ({"overflow_after_seconds": 0}, "overflow_after_seconds"),
                ({"overflow_after_seconds": None}, "overflow_after_seconds"),
                ({"channel_weights": {"fax": 1}}, "channel_weights"),
                ({"channel_weights": {"chat": -1}}, "channel_weights")]
    for fields, field in refusals:
        with pytest.raises((ValidationFailed, NotFound)) as refused:
            queues.update_queue(uow, SYSTEM, queue.id, **fields)
        assert refused.value.field == field, fields
        uow.rollback()
    with pytest.raises(ValidationFailed) as circle:  # other -> front -> other
        queues.update_queue(uow, SYSTEM, other.id, overflow_queue_id=queue.id,
                            overflow_after_seconds=60)
    assert circle.value.field == "overflow_queue_id"
