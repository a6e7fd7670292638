"""Live chat on the agent pages: the handoff panel, the message partial, accepting chats."""

import pytest

from bot.handoff import hand_off
from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Channel, Conversation, IdentityKind, Owner, Role
from helpdesk.services import chat, conversations, customers
from helpdesk.services.conversations import BOT_ACTOR, NewMessage
from tests.helpers import csrf_token

pytestmark = pytest.mark.usefixtures("silent_assistant")  # the transport alone

SCRIPT = "<script>alert('pwned')</script>"


@pytest.fixture
def agent(make, auth):
    user = make.user(email="camille@staff.example")
    auth.login(user.email)
    return user


@pytest.fixture
def queue(make):
    return make.queue("Chat FR")


def verified_customer(app, name="Zoé Client"):
    with app.app_context(), unit_of_work() as uow:
        return customers.identify(uow, SYSTEM, IdentityKind.EXTERNAL, "site-1:zoe", name=name,
                                  verified=True)


def bot_chat(app, make, customer, queue, first="Hello") -> int:
    """A chat the assistant owns, on a site routed to ``queue``."""
    site = make.site(queue_id=queue.id, bot_enabled=True)
    with app.app_context(), unit_of_work() as uow:
        return conversations.open_conversation(
            uow, Actor("customer", customer.id), customer_id=customer.id, channel=Channel.CHAT,
            queue_id=queue.id, owner=Owner.BOT, site_id=site.id,
            first_message=NewMessage(first, Actor("customer", customer.id))).id


def say(app, conversation_id, message):
    with app.app_context(), unit_of_work() as uow:
        return conversations.post_message(uow, conversation_id, message).seq


def handed_off(app, conversation_id, reason="asked_for_human"):
    with app.app_context(), unit_of_work() as uow:
        hand_off(uow, conversation_id, reason)


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_the_handoff_panel_comes_first_and_escapes_what_the_customer_wrote(
        app, client, make, agent, queue):
    customer = verified_customer(app)
    earlier = make.conversation(customer, subject="Broken bulb")
    conversation_id = bot_chat(app, make, customer, queue, first=f"My lamp {SCRIPT} flickers")
    say(app, conversation_id, NewMessage("Try this", BOT_ACTOR, meta={"citations": [
        {"article_id": 1, "version": 3, "title": "Lamp <care>", "url": "/help/articles/1"},
        {"article_id": 2, "version": 1, "title": "Trap", "url": "javascript:alert(1)"}]}))
    handed_off(app, conversation_id)

    text = page(client, f"/conversations/{conversation_id}")

    assert text.index('id="handoff-title"') < text.index('id="thread"')
    assert SCRIPT not in text
    assert "My lamp &lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; flickers" in text
    assert "The customer asked to talk to a person" in text
    assert "No agent was available: the customer was offered email." in text
    assert '<a href="/help/articles/1" target="_blank" rel="noopener">Lamp &lt;care&gt;</a>' \
        in text
    assert "javascript:alert" not in text and "Trap" in text
    assert "Verified identity" in text
    assert f'href="/conversations/{earlier.id}">Broken bulb</a>' in text


def test_the_panel_shows_where_to_reply_by_email(app, client, make, agent, queue):
    conversation_id = bot_chat(app, make, make.customer("Ann"), queue)
    handed_off(app, conversation_id, "no_articles")
    with app.app_context(), unit_of_work() as uow:
        conversation = uow.session.get(Conversation, conversation_id)
        conversation.handoff = {**conversation.handoff, "reply_by_email": "ann@example.com"}
        uow.commit()
    text = page(client, f"/conversations/{conversation_id}")
    assert "Reply by email: ann@example.com" in text
    assert "No help article matched the question" in text
    assert "Not verified" in text


def test_no_handoff_panel_on_a_conversation_never_handed_over(client, make, agent):
    conversation = make.conversation()
    assert 'id="handoff-title"' not in page(client, f"/conversations/{conversation.id}")


def test_the_panel_is_in_french_for_a_french_agent(app, client, make, auth, queue):
    user = make.user(email="lea@staff.example", locale="fr")
    auth.login(user.email)
    conversation_id = bot_chat(app, make, make.customer(), queue)
    handed_off(app, conversation_id, "asked_for_human")
    text = page(client, f"/conversations/{conversation_id}")
    assert "Le client a demandé à parler à une personne" in text
    assert "Passage de relais" in text


def test_one_message_is_served_as_a_thread_item(app, client, make, agent):
    conversation = make.conversation(body=f"Help {SCRIPT}")
    say(app, conversation.id, NewMessage("VIP", Actor("agent", agent.id), internal=True))

    first = page(client, f"/conversations/{conversation.id}/messages/1")
    assert first.strip().startswith('<li class="message from-customer" id="message-1"')
    assert "Help &lt;script&gt;" in first and SCRIPT not in first
    note = page(client, f"/conversations/{conversation.id}/messages/2")
    assert 'class="message from-agent internal"' in note and "Internal note" in note
    assert client.get(f"/conversations/{conversation.id}/messages/3").status_code == 404
    assert client.get("/conversations/4040/messages/1").status_code == 404


def test_the_messages_after_a_seq_are_served_for_catching_up(app, client, make, agent):
    conversation = make.conversation()
    for body in ("two", "three"):
        say(app, conversation.id, NewMessage(body, Actor("customer", conversation.customer_id)))
    items = page(client, f"/conversations/{conversation.id}/messages?after=1")
    assert items.index('id="message-2"') < items.index('id="message-3"')
    assert 'id="message-1"' not in items
    assert page(client, f"/conversations/{conversation.id}/messages?after=3").strip() == ""


def test_the_message_partial_needs_the_read_permission(app, client, make, auth):
    conversation = make.conversation()
    path = f"/conversations/{conversation.id}/messages/1"
    assert client.get(path).status_code == 302  # to the login page
    auth.login(make.user(Role.KNOWLEDGE_MANAGER).email)
    assert client.get(path).status_code == 403


def test_seen_sits_under_the_last_agent_reply_the_customer_read(app, client, make, agent):
    conversation = make.conversation(channel=Channel.CHAT)
    for body in ("First answer", "Second answer"):
        say(app, conversation.id, NewMessage(body, Actor("agent", agent.id)))
    with app.app_context(), unit_of_work() as uow:
        chat.mark_read(uow, Actor("customer", conversation.customer_id),
                       uow.session.get(Conversation, conversation.id), 2)
    text = page(client, f"/conversations/{conversation.id}")
    second = text.index('id="message-2"')
    assert text.index('data-seen>Seen</p>') > second
    assert text.index('data-seen>Seen</p>') < text.index('id="message-3"')
    assert text.count("data-seen>") == 1


def test_a_waiting_chat_is_accepted_from_the_inbox(app, client, make, agent, queue):
    waiting = make.conversation(channel=Channel.CHAT, queue_id=queue.id)
    email = make.conversation(channel=Channel.EMAIL, queue_id=queue.id)
    with_bot = bot_chat(app, make, make.customer(), queue)

    inbox = page(client, "/conversations?view=all")
    assert inbox.count(">Accept chat</button>") == 1
    assert f'action="/conversations/{waiting.id}/assign"' in inbox
    assert f'action="/conversations/{email.id}/assign"' not in inbox
    assert ">Take over</button>" in inbox
    assert "Assign to me" in page(client, f"/conversations/{email.id}")
    assert "Take over" in page(client, f"/conversations/{with_bot}")
    assert "Accept chat" in page(client, f"/conversations/{waiting.id}")

    token = csrf_token(client, "/conversations?view=all")
    response = client.post(f"/conversations/{waiting.id}/assign",
                           data={"csrf_token": token, "assignee_id": str(agent.id)})
    assert response.headers["Location"] == f"/conversations/{waiting.id}"
    with app.app_context():
        accepted = db.session.get(Conversation, waiting.id)
        assert (accepted.owner, accepted.assignee_id) == (Owner.AGENT, agent.id)


def test_the_live_script_is_loaded_after_the_socket_client_on_the_live_pages(client, make,
                                                                             agent, queue):
    conversation = make.conversation()
    for path in (f"/conversations/{conversation.id}", "/conversations"):
        text = page(client, path)
        assert text.index("/widget/vendor/socket.io.min.js") < text.index("/static/web/live.js")
    assert "live.js" not in page(client, "/customers")
    assert f'data-queue="{queue.id}"' in page(client, "/conversations")
    for script in ("/static/web/live.js", "/widget/vendor/socket.io.min.js"):
        with client.get(script) as response:
            assert response.status_code == 200, script


def test_the_history_tells_who_took_the_chat_and_why(app, client, make, agent, queue):
    conversation_id = bot_chat(app, make, make.customer(), queue)
    handed_off(app, conversation_id, "low_confidence")
    text = page(client, f"/conversations/{conversation_id}")
    assert "Assistant changed the owner from Assistant to Queue" in text
    assert "The assistant was not confident enough to answer" in text
