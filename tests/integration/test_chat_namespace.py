"""The Socket.IO ``/chat`` namespace: identity, gap-free delivery, ownership, privacy."""

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, socketio, unit_of_work
from helpdesk.models import Conversation, ConversationStatus, Owner, Presence, Role
from helpdesk.services import conversations, sites, staff
from helpdesk.services.conversations import NewMessage

NS = "/chat"


def connect(app, site, **auth):
    return socketio.test_client(app, namespace=NS, auth={"site": site.key, **auth})


def session_of(sio) -> dict:
    [event] = [r["args"][0] for r in sio.get_received(NS) if r["name"] == "session"]
    return event


def request(sio, event, **data):
    return sio.emit(event, data, namespace=NS, callback=True)


def received(sio, name="message"):
    # The test client keeps "message" events' data unwrapped (Socket.IO's send() event).
    return [r["args"] if r["name"] == "message" else r["args"][0]
            for r in sio.get_received(NS) if r["name"] == name]


def started(sio) -> int:
    reply = request(sio, "conversation.start")
    assert reply["ok"], reply
    return reply["conversation"]["id"]


def send(sio, conversation_id, body, client_id):
    return request(sio, "message.send", conversation_id=conversation_id, body=body,
                   client_id=client_id)


def agent_says(app, conversation_id, body, *, internal=False, agent_id=None):
    with app.app_context(), unit_of_work() as uow:
        return conversations.post_message(uow, conversation_id, NewMessage(
            body=body, author=Actor("agent", agent_id), internal=internal))


pytestmark = pytest.mark.usefixtures("silent_assistant")  # the transport alone


@pytest.fixture
def site(make):
    return make.site(bot_enabled=True)


def test_an_unknown_site_and_a_forged_user_hash_are_refused(app, site):
    assert not socketio.test_client(app, namespace=NS, auth={"site": "nope"}).is_connected(NS)
    forged = connect(app, site, user_id="42", user_hash="0" * 64)
    assert not forged.is_connected(NS)
    assert not connect(app, site, user_id="42").is_connected(NS)  # a hash is required


def test_a_verified_user_finds_their_conversation_from_another_device(app, site):
    proof = sites.user_hash(site.secret, "user-42")
    laptop = connect(app, site, user_id="user-42", user_hash=proof)
    assert session_of(laptop)["verified"] is True
    conversation_id = started(laptop)
    phone = connect(app, site, user_id="user-42", user_hash=proof.upper())
    assert session_of(phone)["conversation"]["id"] == conversation_id


def test_an_anonymous_visitor_keeps_their_conversation_with_the_token(app, site):
    first = connect(app, site)
    token = session_of(first)["visitor"]
    conversation_id = started(first)
    again = connect(app, site, visitor=token)
    assert session_of(again)["conversation"]["id"] == conversation_id
    stranger = connect(app, site)
    assert session_of(stranger)["conversation"] is None


def test_a_new_chat_belongs_to_the_assistant(app, site):
    sio = connect(app, site)
    reply = request(sio, "conversation.start", name="Zoé", email="zoe@example.com")
    assert reply["conversation"]["owner"] == "bot"
    with app.app_context():
        conversation = db.session.get(Conversation, reply["conversation"]["id"])
        assert conversation.site_id == site.id
        assert conversation.customer.name == "Zoé"
        assert "zoe@example.com" in {i.value for i in conversation.customer.identities}


def test_a_message_is_stored_once_whatever_the_retries(app, site):
    sio = connect(app, site)
    conversation_id = started(sio)
    first = send(sio, conversation_id, "Hello", "c-1")
    retry = send(sio, conversation_id, "Hello", "c-1")
    assert first["ok"] and first == retry
    assert first["message"]["seq"] == 1
    assert send(sio, conversation_id, "Anyone?", "c-2")["message"]["seq"] == 2


def test_after_a_reconnect_the_client_gets_exactly_what_it_missed(app, site):
    sio = connect(app, site)
    token = session_of(sio)["visitor"]
    conversation_id = started(sio)
    send(sio, conversation_id, "Hello", "c-1")
    sio.disconnect(NS)
    agent_says(app, conversation_id, "Hi, how can I help?")
    agent_says(app, conversation_id, "note: VIP", internal=True)
    agent_says(app, conversation_id, "Are you there?")
    back = connect(app, site, visitor=token)
    reply = request(back, "conversation.join", conversation_id=conversation_id, after_seq=1)
    assert [(m["seq"], m["body"]) for m in reply["messages"]] == [
        (2, "Hi, how can I help?"), (4, "Are you there?")]


def test_live_messages_reach_the_customer_but_internal_notes_do_not(app, site):
    sio = connect(app, site)
    conversation_id = started(sio)
    sio.get_received(NS)
    agent_says(app, conversation_id, "internal only", internal=True)
    agent_says(app, conversation_id, "Your parcel left today")
    assert [m["body"] for m in received(sio)] == ["Your parcel left today"]


def test_a_customer_cannot_reach_another_customers_conversation(app, site):
    alice, bob = connect(app, site), connect(app, site)
    alices = started(alice)
    started(bob)
    for event, data in (("conversation.join", {"after_seq": 0}),
                        ("message.send", {"body": "hi", "client_id": "x"}),
                        ("handoff.request", {}), ("csat", {"rating": 5})):
        reply = request(bob, event, conversation_id=alices, **data)
        assert reply["ok"] is False and reply["error"]["code"] == "not_found", event
    agent_says(app, alices, "for Alice only")
    assert received(bob) == []


def test_the_rest_api_does_not_accept_a_visitor_token(app, client, site):
    sio = connect(app, site)
    token = session_of(sio)["visitor"]
    conversation_id = started(sio)
    response = client.get(f"/api/v1/conversations/{conversation_id}",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_bad_payloads_are_answered_with_the_field(app, site):
    sio = connect(app, site)
    conversation_id = started(sio)
    assert request(sio, "no.such.event")["error"]["code"] == "invalid"
    assert sio.emit("message.send", "text", namespace=NS, callback=True)["error"]["field"] \
        == "payload"
    missing = request(sio, "message.send", conversation_id=conversation_id, body="hi")
    assert missing["error"]["field"] == "client_id"
    empty = send(sio, conversation_id, "   ", "c-9")
    assert empty["error"]["field"] == "body"
    assert request(sio, "csat", conversation_id=conversation_id, rating=9)["error"][
        "field"] == "rating"


def test_asking_for_a_human_with_nobody_online_offers_to_leave_an_email(app, site):
    sio = connect(app, site)
    conversation_id = started(sio)
    send(sio, conversation_id, "My lamp flickers", "c-1")
    sio.get_received(NS)
    reply = request(sio, "handoff.request", conversation_id=conversation_id)
    assert reply["conversation"]["owner"] == "queue"
    [notice] = received(sio)
    assert notice["author"]["kind"] == "bot"
    assert notice["options"] == [{"kind": "leave_contact", "label": ""}]
    assert request(sio, "contact.leave", conversation_id=conversation_id,
                   email="ann@example.com")["ok"]
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        assert conversation.handoff["summary"] == "My lamp flickers"
        assert conversation.handoff["agents_available"] is False
        assert conversation.handoff["reply_by_email"] == "ann@example.com"
    again = request(sio, "handoff.request", conversation_id=conversation_id)
    assert again["ok"] and received(sio) == []  # idempotent: no second notice


def test_with_an_agent_online_the_handoff_says_someone_is_coming(app, make):
    agent = make.user(Role.AGENT)
    with app.app_context(), unit_of_work() as uow:
        staff.set_presence(uow, SYSTEM, agent.id, Presence.ONLINE)
    queue = make.queue(member_ids=[agent.id])
    site = make.site(queue_id=queue.id)
    sio = connect(app, site)
    conversation_id = started(sio)
    request(sio, "handoff.request", conversation_id=conversation_id)
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        assert (conversation.owner, conversation.queue_id) == (Owner.QUEUE, queue.id)
        assert conversation.handoff["agents_available"] is True


def test_writing_again_after_a_solve_gives_the_chat_back_to_the_assistant(app, site, make):
    agent = make.user(Role.AGENT)
    sio = connect(app, site)
    conversation_id = started(sio)
    request(sio, "handoff.request", conversation_id=conversation_id)
    with app.app_context(), unit_of_work() as uow:
        conversations.assign(uow, Actor("agent", agent.id), conversation_id,
                             assignee_id=agent.id)
    with app.app_context(), unit_of_work() as uow:
        conversations.change_status(uow, Actor("agent", agent.id), conversation_id,
                                    ConversationStatus.SOLVED)
    states = received(sio, "conversation")
    assert states[-1]["csat"] is True and states[-1]["agent"] == {"name": agent.name}
    send(sio, conversation_id, "One more question", "c-2")
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        assert (conversation.owner, conversation.status) == (Owner.BOT, ConversationStatus.OPEN)
        assert conversation.assignee_id is None


def test_read_marks_move_forward_only(app, site):
    sio = connect(app, site)
    conversation_id = started(sio)
    agent_says(app, conversation_id, "one")
    agent_says(app, conversation_id, "two")
    assert request(sio, "message.read", conversation_id=conversation_id, seq=2)["ok"]
    request(sio, "message.read", conversation_id=conversation_id, seq=1)
    with app.app_context():
        assert db.session.get(Conversation, conversation_id).customer_read_seq == 2


def test_sending_too_fast_is_refused(app, site, monkeypatch):
    monkeypatch.setattr("helpdesk.realtime.chat.SEND_LIMIT", 3)
    sio = connect(app, site)
    conversation_id = started(sio)
    replies = [send(sio, conversation_id, f"m{n}", f"c-{n}") for n in range(4)]
    assert [r["ok"] for r in replies] == [True, True, True, False]
    assert replies[-1]["error"]["code"] == "rate_limited"


def test_sites_are_created_and_listed_from_the_command_line(runner, make):
    make.queue(name="Chat EN")
    created = runner.invoke(args=["sites", "create", "Lamp shop", "--queue", "Chat EN",
                                  "--origin", "https://lamps.example/", "--prechat", "email"])
    assert created.exit_code == 0, created.output
    assert 'data-site="site_' in created.output
    listed = runner.invoke(args=["sites", "list"]).output
    assert "Lamp shop" in listed and "Chat EN" in listed and "https://lamps.example" in listed
    unknown = runner.invoke(args=["sites", "create", "X", "--queue", "Nope"])
    assert unknown.exit_code == 2 and "no queue named 'Nope'" in unknown.output


def test_a_page_from_another_origin_is_refused(app, make):
    site = make.site(allowed_origins=["https://lamps.example"])
    foreign = socketio.test_client(app, namespace=NS, auth={"site": site.key},
                                   headers={"Origin": "https://evil.example"})
    assert not foreign.is_connected(NS)
    own = socketio.test_client(app, namespace=NS, auth={"site": site.key},
                               headers={"Origin": "https://lamps.example"})
    assert own.is_connected(NS)


def test_the_widgets_language_is_the_assistants(app, site):
    sio = connect(app, site, locale="fr")
    conversation_id = started(sio)
    sio.get_received(NS)
    request(sio, "handoff.request", conversation_id=conversation_id)
    [notice] = received(sio)
    assert notice["body"].startswith("Personne de notre équipe")


def test_a_send_without_a_free_connection_is_unavailable_then_lands_once(app, site,
                                                                         monkeypatch):
    sio = connect(app, site)
    conversation_id = started(sio)

    def pool_exhausted(*_args, **_kwargs):
        raise PoolTimeout("QueuePool limit of size 1 overflow 0 reached")

    monkeypatch.setattr("helpdesk.realtime.chat.chat.send", pool_exhausted)
    busy = send(sio, conversation_id, "Hello", "c-1")
    assert (busy["ok"], busy["error"]["code"]) == (False, "unavailable")
    monkeypatch.undo()
    assert send(sio, conversation_id, "Hello", "c-1")["message"]["seq"] == 1
