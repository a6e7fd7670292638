"""The conversation page through its forms: thread, reply, note, assign, status, priority, tags."""

import pytest
from sqlalchemy import select

from helpdesk.events import Actor
from helpdesk.extensions import db
from helpdesk.models import Conversation, ConversationStatus, Message, Priority, TimelineEvent
from helpdesk.services import conversations
from helpdesk.services.conversations import NewMessage
from tests.helpers import csrf_token


@pytest.fixture
def agent(make, auth):
    user = make.user(email="camille@staff.example")
    auth.login(user.email)
    return user


@pytest.fixture
def conv(make):
    queue = make.queue("Deliveries")
    return make.conversation(make.customer("Ada Client"), queue_id=queue.id)


def submit(client, conversation_id, action, **form):
    """Post one of the conversation page's forms as the browser would, then follow the PRG."""
    token = csrf_token(client, f"/conversations/{conversation_id}")
    return client.post(f"/conversations/{conversation_id}/{action}",
                       data={"csrf_token": token, **form}, follow_redirects=True)


def reload(app, conversation_id):
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        messages = db.session.scalars(select(Message).where(
            Message.conversation_id == conversation_id).order_by(Message.seq)).all()
        events = db.session.scalars(select(TimelineEvent).where(
            TimelineEvent.conversation_id == conversation_id).order_by(TimelineEvent.id)).all()
        return conversation, conversation.tags, messages, events


def test_thread_shows_messages_in_order_with_authors(client, agent, conv, uow):
    conversations.post_message(uow, conv.id, NewMessage("Second", Actor("bot")))
    page = client.get(f"/conversations/{conv.id}").get_data(as_text=True)
    assert page.index("My parcel never arrived") < page.index("Second")
    assert 'class="message from-customer"' in page
    assert 'class="message from-bot"' in page
    assert "Ada Client" in page


def test_reply_is_stored_shown_and_in_customer_timeline(app, client, agent, conv):
    page = submit(client, conv.id, "reply", body="It ships tomorrow.", client_id="r-1")
    text = page.get_data(as_text=True)
    assert "Reply sent." in text
    assert "It ships tomorrow." in text
    stored, _, messages, events = reload(app, conv.id)
    reply = messages[-1]
    assert (reply.body, reply.author_kind.value, reply.author_id, reply.internal) == (
        "It ships tomorrow.", "agent", agent.id, False)
    assert stored.status == ConversationStatus.OPEN
    posted = [e for e in events if e.type == "message.posted"][-1]
    assert (posted.actor_kind, posted.actor_id) == ("agent", agent.id)
    customer_page = client.get(f"/customers/{conv.customer_id}").get_data(as_text=True)
    assert "camille wrote" in customer_page


def test_a_double_submitted_reply_is_stored_once(app, client, agent, conv):
    submit(client, conv.id, "reply", body="Once only", client_id="same-click")
    submit(client, conv.id, "reply", body="Once only", client_id="same-click")
    bodies = [m.body for m in reload(app, conv.id)[2]]
    assert bodies.count("Once only") == 1


def test_note_is_internal_and_highlighted(app, client, agent, conv):
    text = submit(client, conv.id, "note", body="Customer is a VIP").get_data(as_text=True)
    note = reload(app, conv.id)[2][-1]
    assert note.internal
    assert 'class="message from-agent internal"' in text
    assert "added an internal note" in text


def test_empty_reply_is_refused_with_a_message(app, client, agent, conv):
    text = submit(client, conv.id, "reply", body="   ").get_data(as_text=True)
    assert "message body must not be empty" in text
    assert len(reload(app, conv.id)[2]) == 1


def test_assign_to_an_agent_to_me_and_back_to_the_queue(app, client, agent, conv, make):
    colleague = make.user(email="dominique@staff.example")
    submit(client, conv.id, "assign", assignee_id=str(colleague.id), queue_id=str(conv.queue_id))
    assert reload(app, conv.id)[0].assignee_id == colleague.id
    submit(client, conv.id, "assign", assignee_id=str(agent.id))
    assert reload(app, conv.id)[0].assignee_id == agent.id
    text = submit(client, conv.id, "assign", assignee_id="").get_data(as_text=True)
    stored, _, _, events = reload(app, conv.id)
    assert (stored.assignee_id, stored.queue_id) == (None, conv.queue_id)
    assert [e.payload["assignee_id"] for e in events if e.type == "conversation.assigned"] == [
        colleague.id, agent.id, None]
    assert "assigned it to dominique" in text
    assert "returned it to the queue Deliveries" in text


def test_status_change_and_a_refused_transition(app, client, agent, conv):
    text = submit(client, conv.id, "status", status="closed").get_data(as_text=True)
    assert "changed the status from New to Closed" in text
    assert "This conversation is closed" in text
    text = submit(client, conv.id, "status", status="open").get_data(as_text=True)
    assert "This status change is not allowed." in text
    assert reload(app, conv.id)[0].status == ConversationStatus.CLOSED
    text = submit(client, conv.id, "reply", body="Too late").get_data(as_text=True)
    assert "is closed" in text
    assert len(reload(app, conv.id)[2]) == 1


def test_priority_and_tags(app, client, agent, conv):
    submit(client, conv.id, "priority", priority="urgent")
    submit(client, conv.id, "tags", tags="Refund, delivery,refund")
    text = submit(client, conv.id, "tags", tags="delivery, vip").get_data(as_text=True)
    stored, tags, _, events = reload(app, conv.id)
    assert stored.priority == Priority.URGENT
    assert tags == ["delivery", "vip"]
    changes = [(e.payload["added"], e.payload["removed"]) for e in events
               if e.type == "conversation.tags_changed"]
    assert changes == [(["delivery", "refund"], []), (["vip"], ["refund"])]
    assert "changed the priority from Normal to Urgent" in text
    assert 'tag-removed">\u2212 refund' in text


@pytest.mark.parametrize(("action", "form"), [
    ("status", {"status": "exploded"}),
    ("priority", {"priority": ""}),
    ("assign", {"assignee_id": "somebody"}),
])
def test_invalid_choices_change_nothing(app, client, agent, conv, action, form):
    text = submit(client, conv.id, action, **form).get_data(as_text=True)
    assert "Please check what you entered." in text
    stored, _, _, events = reload(app, conv.id)
    assert (stored.status, stored.priority, stored.assignee_id) == (
        ConversationStatus.NEW, Priority.NORMAL, None)
    assert {e.type for e in events} == {"conversation.opened", "message.posted"}


def test_a_form_without_csrf_token_is_refused(app, client, agent, conv):
    response = client.post(f"/conversations/{conv.id}/reply", data={"body": "forged"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert len(reload(app, conv.id)[2]) == 1


def test_user_text_is_escaped_everywhere(client, agent, make):
    customer = make.customer('<img src=x onerror="alert(1)">')
    conv = make.conversation(customer, subject="<b>bold</b>", body='<script>alert("x")</script>')
    pages = (f"/conversations/{conv.id}", f"/customers/{customer.id}",
             "/conversations?view=all", "/customers")
    for path in pages:
        text = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in text and "<img src=x" not in text and "<b>bold" not in text
    text = client.get(f"/conversations/{conv.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in text


def test_unknown_conversation_is_a_404_page(client, agent):
    response = client.get("/conversations/999999")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
