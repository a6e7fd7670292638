"""The inbox's tools in the agent UI: bulk actions with a result per conversation, saved
views (personal and shared) with counts, the full-text search box."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from helpdesk.events import Actor
from helpdesk.extensions import db
from helpdesk.models import Conversation, ConversationStatus, Priority, Role, SavedView
from helpdesk.services import conversations
from tests.conftest import AuthActions
from tests.helpers import csrf_token


@pytest.fixture
def agent(make, auth):
    user = make.user()
    auth.login(user.email)
    return user


def post(client, path, **form):
    token = csrf_token(client, "/conversations")
    return client.post(path, data={"csrf_token": token, **form}, follow_redirects=True)


def flashes(response):
    return [html.unescape(text) for text in re.findall(
        r'<p class="flash flash-\w+"[^>]*>([^<]+)</p>', response.get_data(as_text=True))]


def subjects(response):
    return re.findall(r'href="/conversations/\d+">([^<]+)</a>', response.get_data(as_text=True))


def state(app, conversation_id):
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        return conversation.status, conversation.priority, conversation.tags


# --- bulk actions -------------------------------------------------------------------------


def test_a_bulk_action_changes_each_and_says_which_failed_and_why(app, client, agent, make,
                                                                 uow):
    first, second, closed = (make.conversation(subject=s) for s in ("One", "Two", "Three"))
    conversations.change_status(uow, Actor("agent", agent.id), closed.id,
                                ConversationStatus.CLOSED)
    page = client.get("/conversations?view=all&status=any").get_data(as_text=True)
    assert 'id="bulk-form"' in page and f'name="ids" value="{first.id}"' in page
    response = post(client, "/conversations/bulk", action="status", status="pending",
                    ids=[first.id, second.id, closed.id], next="/conversations?view=all")
    messages = flashes(response)
    assert "2 conversations updated." in messages
    assert any(m.startswith(f"#{closed.id}: This status change is not allowed") for m in messages)
    assert [state(app, c.id)[0] for c in (first, second, closed)] == [
        ConversationStatus.PENDING, ConversationStatus.PENDING, ConversationStatus.CLOSED]


@pytest.mark.parametrize(("form", "check"), [
    ({"action": "priority", "priority": "urgent"}, lambda s: s[1] == Priority.URGENT),
    ({"action": "add_tag", "tag": "VIP"}, lambda s: s[2] == ["vip"]),
])
def test_bulk_priority_and_tag(app, client, agent, make, form, check):
    convs = [make.conversation(), make.conversation()]
    post(client, "/conversations/bulk", ids=[c.id for c in convs], **form)
    assert all(check(state(app, c.id)) for c in convs)


def test_bulk_assign_and_move_to_a_queue(app, client, agent, make):
    conv = make.conversation()
    queue = make.queue("Returns")
    post(client, "/conversations/bulk", ids=[conv.id], action="assign", assignee_id=agent.id)
    with app.app_context():
        assert db.session.get(Conversation, conv.id).assignee_id == agent.id
    post(client, "/conversations/bulk", ids=[conv.id], action="queue", queue_id=queue.id)
    with app.app_context():
        moved = db.session.get(Conversation, conv.id)
        assert (moved.queue_id, moved.assignee_id) == (queue.id, None)


def test_a_bulk_action_without_a_selection_or_a_value_is_refused(client, agent, make):
    conv = make.conversation()
    nothing = post(client, "/conversations/bulk", action="priority", priority="high")
    assert any("Select at least one conversation." in m for m in flashes(nothing))
    no_value = post(client, "/conversations/bulk", action="status", ids=[conv.id])
    assert any("Choose a valid value for status." in m for m in flashes(no_value))


def test_bulk_actions_need_the_write_permission(client, auth, make):
    reader = make.user(Role.KNOWLEDGE_MANAGER)
    auth.login(reader.email)
    token = csrf_token(client, "/account")
    response = client.post("/conversations/bulk", data={
        "csrf_token": token, "action": "priority", "priority": "high",
        "ids": [make.conversation().id]})
    assert response.status_code == 403


# --- saved views --------------------------------------------------------------------------


def test_save_the_current_filters_as_a_view_with_its_count(app, client, agent, make, uow):
    urgent = make.conversation(subject="Urgent one")
    make.conversation(subject="Calm one")
    conversations.set_priority(uow, Actor("agent", agent.id), urgent.id, Priority.URGENT)
    response = post(client, "/views", name="My urgent", view="all", priority="urgent")
    assert "View saved." in flashes(response)
    with app.app_context():
        view = db.session.scalar(select(SavedView))
        assert (view.name, view.owner_id, view.filters) == ("My urgent", agent.id, {
            "statuses": ["new", "open", "pending", "on_hold"], "priority": "urgent"})
    page = client.get(f"/conversations?saved={view.id}")
    text = page.get_data(as_text=True)
    assert subjects(page) == ["Urgent one"]
    assert re.search(r"<span>My urgent</span>.*?<span class=\"count\">1</span>", text)
    assert "<title>My urgent · Comptoir</title>" in text


def test_only_supervisors_share_views_and_others_see_them(app, client, auth, make):
    agent = make.user()
    auth.login(agent.email)
    refused = post(client, "/views", name="Team", view="unassigned", shared="1")
    assert any("You are not allowed to do that." in m for m in flashes(refused))
    supervisor = make.user(Role.SUPERVISOR)
    auth.logout()
    auth.login(supervisor.email)
    post(client, "/views", name="Team queue", view="unassigned", shared="1")
    post(client, "/views", name="Mine only", view="mine")
    other = app.test_client()
    AuthActions(other).login(make.user().email)
    sidebar = other.get("/conversations").get_data(as_text=True)
    assert "Team queue" in sidebar and "Mine only" not in sidebar
    with app.app_context():
        personal = db.session.scalar(select(SavedView.id).where(SavedView.name == "Mine only"))
    assert other.get(f"/conversations?saved={personal}").status_code == 404


def test_delete_a_view(app, client, agent, make):
    view = make.saved_view(agent, priority=Priority.HIGH)
    response = post(client, f"/views/{view.id}/delete")
    assert "View deleted." in flashes(response)
    with app.app_context():
        assert db.session.get(SavedView, view.id) is None


# --- search -------------------------------------------------------------------------------


def test_the_search_box_searches_messages_whatever_the_accents(client, agent, make):
    make.conversation(subject="Commande 42", body="Je voudrais un remboursement.")
    make.conversation(subject="Réclamation", body="Rien reçu.")
    make.conversation(subject="Other", body="Nothing to see")
    page = client.get("/conversations", query_string={"view": "all", "q": "REMBOURSEMENT"})
    assert subjects(page) == ["Commande 42"]
    page = client.get("/conversations", query_string={"view": "all", "q": "reclamation recu"})
    assert subjects(page) == ["Réclamation"]
