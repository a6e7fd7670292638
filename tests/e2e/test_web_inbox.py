"""The inbox: views, filters, counts and pages."""

import re
from dataclasses import replace

import pytest

from helpdesk.events import Actor
from helpdesk.extensions import unit_of_work
from helpdesk.models import Channel, ConversationStatus, Priority
from helpdesk.services import conversations
from tests.conftest import AuthActions


@pytest.fixture
def agent(make, auth):
    user = make.user()
    auth.login(user.email)
    return user


@pytest.fixture(scope="module")
def inbox(module_app, module_make):
    """A logged-in agent's client, and four conversations that differ in queue, assignee,
    status, priority, channel and tags (built once per module: these tests only read)."""
    agent = module_make.user()
    billing, delivery = module_make.queue("Billing"), module_make.queue("Delivery")
    refund = module_make.conversation(subject="Refund please", queue_id=billing.id)
    lost = module_make.conversation(subject="Lost parcel", queue_id=delivery.id,
                                    channel=Channel.CHAT)
    late = module_make.conversation(subject="Late parcel", queue_id=delivery.id,
                                    channel=Channel.PHONE)
    done = module_make.conversation(subject="Thanks, solved", queue_id=billing.id)
    me = Actor("agent", agent.id)
    with module_app.app_context(), unit_of_work() as uow:
        conversations.assign(uow, me, refund.id, assignee_id=agent.id)
        conversations.set_priority(uow, me, lost.id, Priority.URGENT)
        conversations.set_tags(uow, me, lost.id, ["vip", "carrier"])
        conversations.change_status(uow, me, late.id, ConversationStatus.PENDING)
        conversations.change_status(uow, me, done.id, ConversationStatus.SOLVED)
    client = module_app.test_client()
    AuthActions(client).login(agent.email)
    return client, delivery


def subjects(response):
    """Subjects in the order listed: most urgent first, then most recent activity."""
    return re.findall(r'href="/conversations/\d+">([^<]+)</a>', response.get_data(as_text=True))


@pytest.mark.parametrize(("query", "expected"), [
    ({}, ["Refund please"]),
    ({"view": "unassigned"}, ["Lost parcel", "Late parcel"]),
    ({"view": "all"}, ["Lost parcel", "Late parcel", "Refund please"]),
    ({"view": "all", "status": "any"}, ["Lost parcel", "Thanks, solved", "Late parcel",
                                        "Refund please"]),
    ({"view": "all", "status": "solved"}, ["Thanks, solved"]),
    ({"view": "all", "status": "pending"}, ["Late parcel"]),
    ({"view": "all", "priority": "urgent"}, ["Lost parcel"]),
    ({"view": "all", "channel": "phone"}, ["Late parcel"]),
    ({"view": "all", "tag": "VIP"}, ["Lost parcel"]),
    # Subjects and messages (every body says "My parcel never arrived"); subjects weigh more
    ({"view": "all", "q": "parcel"}, ["Lost parcel", "Late parcel", "Refund please"]),
    ({"view": "all", "q": "parcel -late"}, ["Lost parcel", "Refund please"]),
    ({"view": "all", "status": "nonsense", "priority": "nonsense"},
     ["Lost parcel", "Late parcel", "Refund please"]),
])
def test_views_and_filters(inbox, query, expected):
    client, _ = inbox
    response = client.get("/conversations", query_string=query)
    assert response.status_code == 200
    assert subjects(response) == expected


def test_a_queue_view(inbox):
    client, delivery = inbox
    response = client.get("/conversations", query_string={"queue": delivery.id})
    assert subjects(response) == ["Lost parcel", "Late parcel"]
    assert '<h1 id="inbox-title">Delivery</h1>' in response.get_data(as_text=True)


def test_navigation_counts_active_conversations(inbox):
    client, _ = inbox
    text = client.get("/conversations").get_data(as_text=True)
    counts = dict(re.findall(r"<span>([^<]+)</span> <span class=\"count\">(\d+)</span>", text))
    assert counts == {"Mine": "1", "Unassigned": "2", "All": "3", "Billing": "1", "Delivery": "2"}
    assert "1 conversation" in text


def test_pages(app, client, make, agent):
    app.config["COMPTOIR"] = replace(app.config["COMPTOIR"], page_size=2)
    for n in range(5):
        make.conversation(subject=f"Question {n}")
    first = client.get("/conversations?view=all")
    assert len(subjects(first)) == 2
    text = first.get_data(as_text=True)
    assert "Page 1 of 3" in text and "5 conversations" in text
    assert 'href="/conversations?view=all&amp;page=2" rel="next"' in text
    last = client.get("/conversations?view=all&page=3")
    assert subjects(last) == ["Question 0"]
    assert 'rel="next"' not in last.get_data(as_text=True)


def test_filters_are_kept_in_page_links(app, client, make, agent):
    app.config["COMPTOIR"] = replace(app.config["COMPTOIR"], page_size=1)
    for channel in (Channel.CHAT, Channel.CHAT, Channel.EMAIL):
        make.conversation(channel=channel)
    text = client.get("/conversations?view=all&channel=chat").get_data(as_text=True)
    assert "Page 1 of 2" in text
    assert 'href="/conversations?view=all&amp;channel=chat&amp;page=2"' in text
