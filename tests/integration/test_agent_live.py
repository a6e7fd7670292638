"""The agents' side of live chat on ``/agent``: typing, read marks, handoffs, transfers."""

import pytest

from bot.handoff import hand_off
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, socketio, unit_of_work
from helpdesk.models import Conversation, ConversationStatus, Owner, Role
from helpdesk.services import staff
from tests.helpers import csrf_token

pytestmark = pytest.mark.usefixtures("silent_assistant")  # the transport alone

AGENT, CHAT = "/agent", "/chat"


def agent_socket(app, client=None, auth=None):
    sio = socketio.test_client(app, namespace=AGENT, flask_test_client=client, auth=auth)
    assert sio.is_connected(AGENT)
    return sio


def chat_socket(app, site):
    sio = socketio.test_client(app, namespace=CHAT, auth={"site": site.key})
    assert sio.is_connected(CHAT)
    return sio


def ask(sio, event, namespace=AGENT, **data):
    return sio.emit(event, data, namespace=namespace, callback=True)


def received(sio, namespace, name):
    return [r["args"][0] for r in sio.get_received(namespace) if r["name"] == name]


def start_chat(chat) -> int:
    reply = ask(chat, "conversation.start", CHAT)
    assert reply["ok"], reply
    return reply["conversation"]["id"]


def named(app, user, name):
    with app.app_context(), unit_of_work() as uow:
        staff.update_user(uow, SYSTEM, user.id, name=name)


def stored(app, conversation_id) -> Conversation:
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        db.session.expunge(conversation)
        return conversation


@pytest.fixture
def agent(app, make, auth):
    user = make.user(Role.AGENT)
    named(app, user, "Camille Martin")
    assert auth.login(user.email).status_code == 302
    return user


@pytest.fixture
def site(make):
    return make.site(bot_enabled=False)


def test_an_agent_typing_reaches_the_customer_and_the_other_agents(app, client, make, agent,
                                                                   site):
    chat = chat_socket(app, site)
    conversation_id = start_chat(chat)
    me = agent_socket(app, client)
    colleague = agent_socket(app, auth={"token": make.token(make.user(), ["conversations:read"])})
    for sio in (me, colleague):
        assert ask(sio, "subscribe", conversation_id=conversation_id)["ok"]
    chat.get_received(CHAT)

    assert ask(me, "typing", conversation_id=conversation_id, typing=True) == {"ok": True}

    expected = {"conversation_id": conversation_id, "typing": True,
                "author": {"kind": "agent", "name": "Camille"}}
    assert received(chat, CHAT, "typing") == [expected]
    assert received(colleague, AGENT, "typing") == [expected]
    assert received(me, AGENT, "typing") == []  # not echoed to the one typing


def test_the_customer_typing_reaches_the_agent(app, client, agent, site):
    chat = chat_socket(app, site)
    conversation_id = start_chat(chat)
    me = agent_socket(app, client)
    ask(me, "subscribe", conversation_id=conversation_id)
    ask(chat, "typing", CHAT, conversation_id=conversation_id, typing=True)
    [typing] = received(me, AGENT, "typing")
    assert typing["author"]["kind"] == "customer" and typing["typing"] is True


def test_reading_moves_the_agents_mark_and_tells_the_customer(app, client, agent, site):
    chat = chat_socket(app, site)
    conversation_id = start_chat(chat)
    for n in (1, 2):
        assert ask(chat, "message.send", CHAT, conversation_id=conversation_id,
                   body=f"message {n}", client_id=f"c-{n}")["ok"]
    me = agent_socket(app, client)
    chat.get_received(CHAT)

    assert ask(me, "read", conversation_id=conversation_id, seq=2) == {
        "ok": True, "agent_read_seq": 2}
    assert ask(me, "read", conversation_id=conversation_id, seq=1)["agent_read_seq"] == 2
    assert ask(me, "read", conversation_id=conversation_id, seq=99)["agent_read_seq"] == 2

    assert stored(app, conversation_id).agent_read_seq == 2
    assert received(chat, CHAT, "read") == [
        {"conversation_id": conversation_id, "seq": 2, "reader": "agent"}]


def test_the_customer_reading_reaches_the_agent(app, client, agent, site):
    chat = chat_socket(app, site)
    conversation_id = start_chat(chat)
    ask(chat, "message.send", CHAT, conversation_id=conversation_id, body="hi", client_id="c-1")
    me = agent_socket(app, client)
    ask(me, "subscribe", conversation_id=conversation_id)
    ask(chat, "message.read", CHAT, conversation_id=conversation_id, seq=1)
    assert received(me, AGENT, "read") == [
        {"conversation_id": conversation_id, "seq": 1, "reader": "customer"}]


def test_typing_and_reading_need_the_write_permission_and_a_real_conversation(app, make, site):
    chat = chat_socket(app, site)
    conversation_id = start_chat(chat)
    reader = agent_socket(app, auth={"token": make.token(make.user(), ["conversations:read"])})
    for event, extra in (("typing", {"typing": True}), ("read", {"seq": 1})):
        reply = ask(reader, event, conversation_id=conversation_id, **extra)
        assert reply == {"ok": False,
                         "error": "conversations:write is needed to type or mark as read"}
    assert received(chat, CHAT, "typing") == []

    writer = agent_socket(app, auth={"token": make.token(
        make.user(), ["conversations:read", "conversations:write"])})
    assert ask(writer, "typing", conversation_id=4040, typing=True) == {
        "ok": False, "error": "conversation 4040 does not exist"}
    assert ask(writer, "typing", conversation_id=conversation_id, typing="yes")["error"] == \
        "typing must be true or false"
    assert ask(writer, "read", conversation_id=conversation_id, seq=-1)["error"] == \
        "seq must be a whole number of at least 0"
    assert writer.emit("read", "text", namespace=AGENT, callback=True)["ok"] is False


def test_a_handoff_is_announced_to_the_queues_agents_only(app, client, make, agent):
    other = make.user()
    queue = make.queue("Chat FR", member_ids=[agent.id])
    make.queue("Elsewhere", member_ids=[other.id])
    site = make.site(queue_id=queue.id, bot_enabled=True)
    chat = chat_socket(app, site)
    conversation_id = start_chat(chat)
    member = agent_socket(app, client)
    outsider = agent_socket(app, auth={"token": make.token(other, ["conversations:read"])})

    with app.app_context(), unit_of_work() as uow:
        hand_off(uow, conversation_id, "asked_for_human")

    [event] = [e for e in received(member, AGENT, "conversation.event")]
    assert (event["type"], event["conversation_id"]) == ("conversation.owner_changed",
                                                         conversation_id)
    assert (event["queue_id"], event["channel"]) == (queue.id, "chat")
    assert event["payload"] == {"from": "bot", "to": "queue", "reason": "asked_for_human"}
    assert received(outsider, AGENT, "conversation.event") == []


def submit(client, conversation_id, action, **form):
    token = csrf_token(client, f"/conversations/{conversation_id}")
    response = client.post(f"/conversations/{conversation_id}/{action}",
                           data={"csrf_token": token, **form})
    assert response.status_code == 302
    return response


def test_a_chat_is_transferred_between_agents_and_queues_from_the_sidebar(app, client, make,
                                                                          agent):
    colleague = make.user()
    named(app, colleague, "Dominique Roy")
    sales, support = make.queue("Sales", member_ids=[colleague.id]), make.queue("Support")
    site = make.site(queue_id=support.id, bot_enabled=True)
    chat = chat_socket(app, site)
    conversation_id = start_chat(chat)
    with app.app_context(), unit_of_work() as uow:
        hand_off(uow, conversation_id, "asked_for_human")
    watcher = agent_socket(app, auth={"token": make.token(colleague, ["conversations:read"])})
    chat.get_received(CHAT)

    submit(client, conversation_id, "assign", assignee_id=str(agent.id))  # Accept chat
    assert (stored(app, conversation_id).owner, stored(app, conversation_id).assignee_id) == (
        Owner.AGENT, agent.id)
    submit(client, conversation_id, "assign", assignee_id=str(colleague.id))  # to an agent
    after = stored(app, conversation_id)
    assert (after.owner, after.assignee_id) == (Owner.AGENT, colleague.id)
    assert received(chat, CHAT, "conversation")[-1]["agent"] == {"name": "Dominique"}

    submit(client, conversation_id, "assign", queue_id=str(sales.id), assignee_id="")  # to a queue
    after = stored(app, conversation_id)
    assert (after.owner, after.queue_id, after.assignee_id) == (Owner.QUEUE, sales.id, None)
    [handoff] = received(watcher, AGENT, "conversation.event")
    assert (handoff["queue_id"], handoff["payload"]["to"]) == (sales.id, "queue")
    assert received(chat, CHAT, "conversation")[-1]["agent"] is None

    submit(client, conversation_id, "assign", assignee_id=str(agent.id))
    submit(client, conversation_id, "status", status="solved")
    assert stored(app, conversation_id).status == ConversationStatus.SOLVED
    assert received(chat, CHAT, "conversation")[-1]["csat"] is True


def test_a_session_cookie_from_another_sites_page_is_refused(app, client, make, auth):
    user = make.user()
    assert auth.login(user.email).status_code == 302
    foreign = socketio.test_client(app, namespace="/agent", flask_test_client=client,
                                   headers={"Origin": "https://evil.example"})
    assert not foreign.is_connected("/agent")
    own = socketio.test_client(app, namespace="/agent", flask_test_client=client,
                               headers={"Origin": "http://localhost"})
    assert own.is_connected("/agent")
