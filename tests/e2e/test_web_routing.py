"""The queue admin pages (strategy, overflow, channel weights, members), a conversation's
routing panel and history, and the presence selector, through the web UI."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import Channel, Conversation, Presence, Queue, Role, User
from helpdesk.services import queues, staff
from tests.helpers import csrf_token

FORM = {"name": "Billing", "description": "Invoices", "channels": ["chat", "email"],
        "routing_strategy": "least_loaded", "overflow_queue_id": "",
        "overflow_after_seconds": "", "weight_chat": "", "weight_email": "0.5",
        "weight_phone": "", "weight_web_form": "", "weight_api": ""}


def post(client, path: str, **form: object):
    return client.post(path, data={"csrf_token": csrf_token(client, "/account"), **form},
                       follow_redirects=True)


def stored_queue(app, name: str) -> Queue | None:
    with app.app_context():
        queue = db.session.scalar(select(Queue).where(Queue.name == name))
        _ = queue and queue.member_ids  # loaded while the session is there
        return queue


def test_a_supervisor_creates_and_edits_a_queues_routing(app, client, auth, make):
    boss, ada = make.user(Role.SUPERVISOR), make.user(name="Ada")
    fallback = make.queue("Fallback")
    auth.login(boss.email)
    page = post(client, "/queues/new", **FORM, member_ids=[str(ada.id)])
    assert "Queue created." in page.get_data(as_text=True)
    queue = stored_queue(app, "Billing")
    assert (queue.routing_strategy.value, queue.channel_weights, queue.member_ids) == (
        "least_loaded", {"email": 0.5}, [ada.id])
    form = client.get(f"/queues/{queue.id}").get_data(as_text=True)
    assert 'value="least_loaded" selected' in form and 'value="0.5"' in form
    post(client, f"/queues/{queue.id}", **FORM | {
        "routing_strategy": "skills", "overflow_queue_id": str(fallback.id),
        "overflow_after_seconds": "300"})
    queue = stored_queue(app, "Billing")
    assert (queue.routing_strategy.value, queue.overflow_queue_id, queue.member_ids) == (
        "skills", fallback.id, [])
    listing = client.get("/queues").get_data(as_text=True)
    assert "Skills" in listing and "to Fallback after 300 s" in listing


def test_a_refused_queue_form_names_the_field_and_keeps_what_was_typed(app, client, auth, make):
    boss = make.user(Role.ADMIN)
    fallback = make.queue("Fallback")
    auth.login(boss.email)
    response = post(client, "/queues/new", **FORM | {"overflow_queue_id": str(fallback.id)})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "overflow needs both a queue and a wait" in page and 'value="Invoices"' in page
    response = post(client, "/queues/new", **FORM | {"weight_chat": "lots"})
    assert response.status_code == 422
    assert "The weight of chat must be a number." in response.get_data(as_text=True)
    assert stored_queue(app, "Billing") is None


def test_agents_may_not_open_the_queue_pages(client, auth, make):
    auth.login(make.user(Role.AGENT).email)
    assert client.get("/queues").status_code == 403
    assert client.get("/queues/new").status_code == 403


def test_required_skills_are_set_from_the_conversation_page(app, client, auth, make):
    agent = make.user()
    conversation = make.conversation(channel=Channel.CHAT, queue_id=make.queue().id)
    auth.login(agent.email)
    page = post(client, f"/conversations/{conversation.id}/required-skills",
                required_skills="FR, billing").get_data(as_text=True)
    assert "Required skills saved." in page and 'value="billing, fr"' in page
    assert "set the required skills: billing, fr" in page
    assert "Waiting for an agent since" in page
    with app.app_context():
        assert db.session.get(Conversation, conversation.id).required_skills == ["billing", "fr"]


def test_the_history_says_why_routing_gave_it_to_whom(app, client, auth, make):
    ada = make.user(name="Ada Lovelace")
    with app.app_context(), unit_of_work() as uow:
        queue = queues.create_queue(uow, SYSTEM, name="Chats", routing_strategy="round_robin",
                                    member_ids=[ada.id])
        waiting = make.conversation(channel=Channel.CHAT, queue_id=queue.id)
        staff.set_presence(uow, SYSTEM, ada.id, Presence.ONLINE)
    auth.login(ada.email)
    page = client.get(f"/conversations/{waiting.id}").get_data(as_text=True)
    assert "Routing could not give it to anyone yet: none of the queue" in page
    assert "Routing gave it to Ada Lovelace (Round robin)" in page
    assert "0 of 3 Chat conversations open before this one" in page


def test_browsing_keeps_an_agent_from_auto_away(app, client, auth, make):
    agent = make.user()
    auth.login(agent.email)
    with app.app_context():
        db.session.execute(User.__table__.update().values(last_seen_at=None))
        db.session.commit()
    client.get("/account")
    with app.app_context():
        assert db.session.get(User, agent.id).last_seen_at is not None
