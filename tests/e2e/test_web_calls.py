"""Calls in the agent UI: the call panel of a conversation, call notes, the screen pop, and
the pop pushed to the ringing agent's /agent room."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from helpdesk.events import SYSTEM
from helpdesk.extensions import db, socketio, unit_of_work
from helpdesk.models import Call, CallEventKind, IdentityKind, Role
from helpdesk.services import calls, customers
from tests.e2e.api_helpers import ApiClient
from tests.helpers import csrf_token

K = CallEventKind
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CALLER = "+33612345678"


@pytest.fixture
def agent(make, auth):
    user = make.user(email="camille@staff.example")
    auth.login(user.email)
    return user


@pytest.fixture
def caller(app, make):
    customer = make.customer("Ada <b>Lovelace</b>", email="ada@example.com")
    with app.app_context(), unit_of_work() as uow:
        customers.add_identity(uow, SYSTEM, customer.id, IdentityKind.PHONE, CALLER)
    return customer


def the_call_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Call.id).where(Call.external_id == "c-1"))


def ingest(app, kind, seconds=0, **fields):
    event = calls.CallEventIn(call_id="c-1", kind=kind, caller=CALLER,
                              occurred_at=T0 + timedelta(seconds=seconds), **fields)
    with app.app_context(), unit_of_work() as uow:
        return calls.ingest(uow, event).result


def test_the_conversation_shows_its_call_and_saves_the_agents_notes(app, client, make, agent,
                                                                    caller):
    queue = make.queue("Hotline")
    ingest(app, K.QUEUED, 0, queue=queue.id, called="+33155000000")
    ingest(app, K.ANSWERED, 42, agent=agent.id)
    result = ingest(app, K.ENDED, 42 + 185, recording_url="https://pbx.example/r/1.mp3")
    path = f"/conversations/{result['conversation_id']}"
    page = client.get(path).get_data(as_text=True)
    panel = page[page.index('id="calls-title"'):]
    for shown in ("Phone calls", CALLER, "+33155000000", "Hotline", "Answered", "0:42", "3:05",
                  'href="https://pbx.example/r/1.mp3"', 'rel="noopener noreferrer"'):
        assert shown in panel, shown
    assert "Call answered" in page  # the history says it too

    token = csrf_token(client, path)
    saved = client.post(f"/calls/{the_call_id(app)}/notes", follow_redirects=True,
                        data={"csrf_token": token, "notes": "Refund <promised>"})
    text = saved.get_data(as_text=True)
    assert "Call notes saved." in text and "Refund &lt;promised&gt;" in text


def test_saving_notes_needs_the_forms_csrf_token(app, client, agent, caller):
    ingest(app, K.ANSWERED, 0, agent=agent.id)
    assert client.post(f"/calls/{the_call_id(app)}/notes", data={"notes": "x"}).status_code == 400


def test_the_screen_pop_shows_the_caller_escaped_with_links(app, client, agent, caller):
    result = ingest(app, K.RINGING, 0, agent=agent.id)
    pop = client.get(f"/calls/screen-pop?call={the_call_id(app)}").get_data(as_text=True)
    assert "Incoming call: Ada &lt;b&gt;Lovelace&lt;/b&gt;" in pop
    assert f'href="/conversations/{result["conversation_id"]}"' in pop
    assert f'href="/customers/{caller.id}"' in pop
    assert "ada@example.com" in pop and "Recent history" in pop


@pytest.mark.parametrize("query", ["", "?call=x", "?call=99"])
def test_the_screen_pop_of_no_call_is_not_found(client, agent, query):
    assert client.get(f"/calls/screen-pop{query}").status_code == 404


def test_a_knowledge_manager_gets_no_screen_pops(client, make, auth):
    auth.login(make.user(Role.KNOWLEDGE_MANAGER).email)
    assert client.get("/calls/screen-pop?call=1").status_code == 403
    assert 'id="call-pops"' not in client.get("/account").get_data(as_text=True)


def test_every_agent_page_listens_for_screen_pops(client, agent):
    page = client.get("/account").get_data(as_text=True)
    assert 'id="call-pops"' in page and "callpop.js" in page


def test_a_posted_ringing_event_pops_up_in_the_agents_room_only(app, client, make, agent,
                                                               caller):
    """Over HTTP as a PBX would post it; the agent's console socket gets the profile and the
    history, a colleague's does not."""
    colleague = make.user()
    mine = socketio.test_client(app, namespace="/agent", flask_test_client=client)
    theirs = socketio.test_client(app, namespace="/agent", auth={
        "token": make.token(colleague, ["conversations:read"])})
    pbx = ApiClient(app.test_client(), make.token(make.user(Role.ADMIN), ["calls:ingest"]))
    response = pbx.post("/calls/events", json={
        "call_id": "http-1", "event": "ringing", "caller": "0033 6 12 34 56 78",
        "agent": agent.email, "timestamp": T0.isoformat()})
    assert response.status_code == 201
    [pop] = [r["args"][0] for r in mine.get_received("/agent") if r["name"] == "call.ringing"]
    assert pop["customer"]["id"] == caller.id and pop["customer"]["name"] == caller.name
    assert pop["call"]["conversation_id"] == response.get_json()["conversation_id"]
    assert any(e["type"] == "identity.added" for e in pop["timeline"])
    assert not [r for r in theirs.get_received("/agent") if r["name"] == "call.ringing"]
