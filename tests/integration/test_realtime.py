"""The Socket.IO ``/agent`` namespace: who may connect, subscriptions, live events."""

import pytest
from flask_socketio import SocketIO
from socketio import PubSubManager, Server

from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import socketio, unit_of_work
from helpdesk.models import Role
from helpdesk.realtime.rooms import audible
from helpdesk.services import conversations, staff
from helpdesk.services.conversations import NewMessage

NS = "/agent"


def connect(app, client=None, auth=None):
    return socketio.test_client(app, namespace=NS, flask_test_client=client, auth=auth)


def subscribe(sio, data):
    return sio.emit("subscribe", data, namespace=NS, callback=True)


def live_events(sio):
    return [r["args"][0] for r in sio.get_received(NS) if r["name"] == "conversation.event"]


def post(app, conversation_id, message):
    with app.app_context(), unit_of_work() as uow:
        return conversations.post_message(uow, conversation_id, message)


@pytest.fixture
def agent(make, auth):
    user = make.user(Role.AGENT)
    assert auth.login(user.email).status_code == 302
    return user


def test_anonymous_connection_is_refused(app, client):
    assert not connect(app, client).is_connected(NS)


def test_a_logged_in_agent_follows_a_conversation_live(app, client, make, agent):
    conv = make.conversation()
    sio = connect(app, client)
    assert sio.is_connected(NS)
    assert subscribe(sio, {"conversation_id": conv.id}) == {
        "ok": True, "room": f"conversation:{conv.id}"}
    message = post(app, conv.id, NewMessage("We are on it", Actor("agent", agent.id)))
    [posted, status] = live_events(sio)
    assert (posted["type"], posted["conversation_id"]) == ("message.posted", conv.id)
    assert posted["actor"] == {"kind": "agent", "id": agent.id}
    assert (posted["payload"]["message_id"], posted["payload"]["seq"]) == (message.id, 2)
    assert status["type"] == "conversation.status_changed"


def test_only_subscribers_receive_a_conversations_events(app, client, make, agent):
    followed, other = make.conversation(), make.conversation()
    sio = connect(app, client)
    subscribe(sio, {"conversation_id": followed.id})
    post(app, other.id, NewMessage("elsewhere", Actor("customer", other.customer_id)))
    assert live_events(sio) == []
    assert sio.emit("unsubscribe", {"conversation_id": followed.id}, namespace=NS,
                    callback=True) == {"ok": True}
    post(app, followed.id, NewMessage("after leaving", Actor("customer", followed.customer_id)))
    assert live_events(sio) == []


def test_bad_subscriptions_are_rejected_clearly(app, client, agent):
    sio = connect(app, client)
    not_an_id = {"ok": False, "error": "conversation_id must be a positive integer"}
    for data in [{"conversation_id": "7"}, {"conversation_id": 0}, {"conversation_id": True},
                 ["conversation_id", 1], None]:
        assert subscribe(sio, data) == not_an_id, data
    assert subscribe(sio, {"conversation_id": 4040}) == {
        "ok": False, "error": "conversation 4040 does not exist"}


def test_a_knowledge_manager_is_refused(app, client, make, auth):
    manager = make.user(Role.KNOWLEDGE_MANAGER)
    auth.login(manager.email)
    assert not connect(app, client).is_connected(NS)


def test_a_deactivated_agent_keeps_no_live_access(app, client, agent):
    with app.app_context(), unit_of_work() as uow:
        staff.update_user(uow, SYSTEM, agent.id, active=False)
    assert not connect(app, client).is_connected(NS)


def test_token_authentication(app, make):
    conv = make.conversation()
    user = make.user(Role.AGENT)
    reader = make.token(user, ["conversations:read"])
    sio = connect(app, auth={"token": reader})
    assert sio.is_connected(NS)
    subscribe(sio, {"conversation_id": conv.id})
    post(app, conv.id, NewMessage("hello", Actor("customer", conv.customer_id)))
    assert [e["type"] for e in live_events(sio)] == ["message.posted"]


def test_token_without_the_read_scope_or_unknown_is_refused(app, make):
    user = make.user(Role.AGENT)
    for secret in [make.token(user, ["customers:read"]), "cpt_no-such-token", 42]:
        assert not connect(app, auth={"token": secret}).is_connected(NS), secret


def test_a_room_is_audible_only_with_someone_in_it_or_a_message_queue(app, client, make,
                                                                       agent):
    conv = make.conversation()
    room = f"conversation:{conv.id}"
    assert not audible(socketio, room, NS)  # a worker's emits would reach nobody
    sio = connect(app, client)
    subscribe(sio, {"conversation_id": conv.id})
    assert audible(socketio, room, NS)
    queued = SocketIO()
    queued.server = Server(client_manager=PubSubManager())
    assert audible(queued, "conversation:0", NS)  # other processes' clients may be in it
