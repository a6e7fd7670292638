"""Merging and splitting from the conversation page's forms."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from helpdesk.events import Actor
from helpdesk.extensions import db
from helpdesk.models import Conversation, ConversationStatus, Message, Role
from helpdesk.services import conversations
from helpdesk.services.conversations import NewMessage
from tests.helpers import csrf_token


@pytest.fixture
def agent(make, auth):
    user = make.user()
    auth.login(user.email)
    return user


def submit(client, conversation_id, action, **form):
    token = csrf_token(client, f"/conversations/{conversation_id}")
    return client.post(f"/conversations/{conversation_id}/{action}",
                       data={"csrf_token": token, **form}, follow_redirects=True)


def flashes(response):
    return [html.unescape(t) for t in re.findall(r'<p class="flash flash-\w+"[^>]*>([^<]+)</p>',
                                                response.get_data(as_text=True))]


def bodies(app, conversation_id):
    with app.app_context():
        return list(db.session.scalars(select(Message.body).where(
            Message.conversation_id == conversation_id).order_by(Message.seq)))


def test_merge_from_the_page(app, client, agent, make):
    customer = make.customer()
    target = make.conversation(customer, body="First")
    source = make.conversation(customer, body="Second")
    page = client.get(f"/conversations/{target.id}").get_data(as_text=True)
    assert 'name="source_id"' in page and 'name="confirm_other_customer"' not in page
    response = submit(client, target.id, "merge", source_id=source.id)
    assert "Conversation merged into this one." in flashes(response)
    text = response.get_data(as_text=True)
    assert f'moved from <a href="/conversations/{source.id}">#{source.id}</a>' in text
    assert bodies(app, target.id) == ["First", "Second"]
    merged = client.get(f"/conversations/{source.id}").get_data(as_text=True)
    assert re.search(rf'This conversation was merged into\s*<a href="/conversations/'
                     rf'{target.id}">#{target.id}</a>', merged)


def test_an_agent_cannot_confirm_a_merge_between_customers(app, client, agent, make):
    target, source = make.conversation(), make.conversation()
    refused = submit(client, target.id, "merge", source_id=source.id)
    assert any("a supervisor must confirm" in m for m in flashes(refused))
    forced = submit(client, target.id, "merge", source_id=source.id, confirm_other_customer="1")
    assert any("You are not allowed to do that." in m for m in flashes(forced))
    assert bodies(app, source.id) == ["My parcel never arrived"]


def test_a_supervisor_confirms_a_merge_between_customers(app, client, auth, make):
    auth.login(make.user(Role.SUPERVISOR).email)
    target, source = make.conversation(), make.conversation(body="Other customer's")
    page = client.get(f"/conversations/{target.id}").get_data(as_text=True)
    assert 'name="confirm_other_customer"' in page
    submit(client, target.id, "merge", source_id=source.id, confirm_other_customer="1")
    assert bodies(app, target.id) == ["My parcel never arrived", "Other customer's"]
    with app.app_context():
        assert db.session.get(Conversation, source.id).status == ConversationStatus.CLOSED


def test_split_a_message_off_into_a_new_conversation(app, client, agent, make, uow):
    conv = make.conversation(body="About my parcel")
    conversations.post_message(uow, conv.id, NewMessage(
        body="Also my invoice", author=Actor("customer", conv.customer_id)))
    response = submit(client, conv.id, "split", seq=2, subject="Invoice")
    assert f"Messages moved here from #{conv.id}." in flashes(response)
    new_id = int(re.search(r"/conversations/(\d+)", response.request.path).group(1))
    assert new_id != conv.id
    assert bodies(app, new_id) == ["Also my invoice"]
    assert bodies(app, conv.id) == ["About my parcel"]
    assert "<title>Invoice · #" in response.get_data(as_text=True)


def test_a_refused_split_stays_on_the_page(client, agent, make):
    conv = make.conversation()
    response = submit(client, conv.id, "split", seq=1)
    assert response.request.path == f"/conversations/{conv.id}"
    assert any("merge it instead" in m for m in flashes(response))
