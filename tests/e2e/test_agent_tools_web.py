"""Agent tools in the browser UI (forms, no JavaScript): macros, @mentions and the
notifications bell, custom fields, tag links."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, socketio, unit_of_work
from helpdesk.models import Conversation, Macro, Message, Role
from helpdesk.services import custom_fields, macros
from tests.conftest import AuthActions
from tests.helpers import csrf_token

HOSTILE = "<b>Ada</b> & co"


@pytest.fixture
def agent(make, auth):
    user = make.user(email="marie@staff.example", name="Marie Dupont")
    auth.login(user.email)
    return user


@pytest.fixture
def conv(make):
    return make.conversation(make.customer(HOSTILE, email="ada@example.com"))


def post(client, path, page=None, **form):
    token = csrf_token(client, page or path)
    return client.post(path, data={"csrf_token": token, **form}, follow_redirects=True)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def macro(app, owner, **fields) -> Macro:
    """A macro of ``owner`` (a user), or a shared one (None, with ``shared=True``)."""
    actor = SYSTEM if owner is None else Actor("agent", owner.id)
    with app.app_context(), unit_of_work() as uow:
        return macros.create_macro(uow, actor, **{"name": "Thanks",
                                                  "body": "Hi {{customer.name}}", **fields})


def stored(app, conversation_id):
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        bodies = db.session.scalars(select(Message.body).where(
            Message.conversation_id == conversation_id).order_by(Message.seq)).all()
        return conversation.status.value, conversation.tags, conversation.custom_fields, bodies


# --- macros -------------------------------------------------------------------------------

def test_an_agent_creates_a_personal_macro_and_cannot_share_it(app, client, agent):
    form = text_of(client.get("/macros/new?shared=1"))
    assert 'name="shared"' not in form  # agents do not manage shared macros
    page = post(client, "/macros/new", name="Where is it", body="Hello {{customer.name}}",
                status="pending", add_tags="delivery, Waiting ")
    assert "Macro created." in text_of(page)
    with app.app_context():
        created = db.session.scalar(select(Macro).where(Macro.name == "Where is it"))
        assert (created.owner_id, created.actions) == (agent.id, {
            "status": "pending", "add_tags": ["delivery", "waiting"]})


def test_an_unknown_placeholder_comes_back_in_the_form_naming_it(client, agent):
    response = post(client, "/macros/new", "/macros/new", name="Order",
                    body="Your order {{order.number}}")
    assert response.status_code == 422
    page = text_of(response)
    assert "unknown placeholder {{order.number}}" in page
    assert "Your order {{order.number}}</textarea>" in page  # as typed


def test_a_supervisor_creates_a_shared_macro_everyone_sees(app, client, make, agent):
    supervisor = make.user(Role.SUPERVISOR)
    other = app.test_client()
    AuthActions(other).login(supervisor.email)
    post(other, "/macros/new", "/macros/new?shared=1", name="Team reply", body="Hi",
         shared="on")
    page = text_of(client.get("/macros"))
    assert "Team reply" in page and "Everyone" in page
    assert "/delete" not in page  # the agent cannot delete it


def test_insert_fills_the_reply_box_escaped_and_applies_the_actions(app, client, agent, conv):
    chosen = macro(app, agent, body="Dear {{customer.name}}, I am {{agent.name}}.",
                   actions={"add_tags": ["macro-used"], "priority": "high"})
    response = post(client, f"/conversations/{conv.id}/macro", f"/conversations/{conv.id}",
                    macro_id=str(chosen.id), send="0")
    page = text_of(response)
    assert "check its text in the reply box" in page
    assert ("Dear &lt;b&gt;Ada&lt;/b&gt; &amp; co, I am Marie Dupont.</textarea>" in page)
    assert "<b>Ada</b>" not in page
    _, tags, _, bodies = stored(app, conv.id)
    assert tags == ["macro-used"]
    assert len(bodies) == 1  # not sent


def test_apply_and_send_posts_the_reply(app, client, agent, conv):
    chosen = macro(app, agent, body="Solved, {{customer.name}}.", actions={"status": "solved"})
    page = text_of(post(client, f"/conversations/{conv.id}/macro",
                        f"/conversations/{conv.id}", macro_id=str(chosen.id), send="1"))
    assert "Macro applied and reply sent." in page
    assert "Marie Dupont applied the macro Thanks and sent it" in page  # the history
    status, _, _, bodies = stored(app, conv.id)
    assert (status, bodies[-1]) == ("solved", f"Solved, {HOSTILE}.")


def test_the_conversation_page_offers_shared_and_own_macros_only(app, client, make, agent,
                                                                  conv):
    macro(app, agent, name="Mine")
    macro(app, None, name="Shared one", shared=True, may_share=True)
    macro(app, make.user(), name="Someone else's")
    page = text_of(client.get(f"/conversations/{conv.id}"))
    options = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>',
                         page.split('id="macro-choice"')[1].split("</select>")[0])
    assert options == ["Mine", "Shared one"]


# --- mentions and notifications -----------------------------------------------------------

def test_a_mention_notifies_the_colleague_live_and_in_the_bell(app, client, make, agent, conv):
    paul = make.user(email="paul@staff.example", name="Paul Martin")
    colleague = app.test_client()
    AuthActions(colleague).login(paul.email)
    live = socketio.test_client(app, namespace="/agent", flask_test_client=colleague)
    page = text_of(post(client, f"/conversations/{conv.id}/note", f"/conversations/{conv.id}",
                        body="@paul.martin <i>refund</i>? cc @nobody"))
    assert '<span class="mention">@paul.martin</span> &lt;i&gt;refund&lt;/i&gt;? cc @nobody' in page
    pushed = [r["args"][0] for r in live.get_received("/agent") if r["name"] == "notification"]
    assert [(n["kind"], n["conversation_id"]) for n in pushed] == [("mention", conv.id)]
    live.disconnect(namespace="/agent")

    bell = text_of(colleague.get("/conversations"))
    assert re.search(r'id="notification-count">1</span>', bell)
    listing = text_of(colleague.get("/notifications"))
    assert "Marie Dupont: @paul.martin &lt;i&gt;refund&lt;/i&gt;? cc @nobody" in listing
    notification_id = re.search(r"/notifications/(\d+)/open", listing).group(1)
    opened = colleague.post(f"/account/{paul.id}/notifications/{notification_id}/open",
                            data={"csrf_token": csrf_token(colleague, "/notifications")})
    assert opened.headers["Location"].endswith(f"/conversations/{conv.id}")
    assert 'id="notification-count" hidden>0</span>' in text_of(colleague.get("/notifications"))


def test_mark_all_read_and_nobody_marks_another_s(app, client, make, agent, conv):
    paul = make.user(email="paul@staff.example")
    for body in ("@paul one", "@paul two"):
        post(client, f"/conversations/{conv.id}/note", f"/conversations/{conv.id}", body=body)
    colleague = app.test_client()
    AuthActions(colleague).login(paul.email)
    ids = re.findall(r'name="id" value="(\d+)"', text_of(colleague.get("/notifications")))
    refused = client.post(f"/account/{paul.id}/notifications/read",
                          data={"csrf_token": csrf_token(client, "/notifications"), "id": ids})
    assert refused.status_code == 403  # marie acting on paul's account
    page = text_of(post(colleague, f"/account/{paul.id}/notifications/read", "/notifications",
                        id=ids))
    assert "No unread notifications." in page


# --- custom fields ------------------------------------------------------------------------

def test_an_admin_defines_fields_and_agents_fill_them_in(app, client, make, agent, conv):
    admin = make.user(Role.ADMIN)
    boss = app.test_client()
    AuthActions(boss).login(admin.email)
    assert client.get("/custom-fields").status_code == 403  # agents do not define fields
    post(boss, "/custom-fields", key="carrier", label="Carrier", type="select",
         options="DHL\nUPS", position="1")
    post(boss, "/custom-fields", key="parcels", label="Parcels", type="number",
         required_on_solve="on", position="2")
    post(boss, "/custom-fields", key="insured", label="Insured", type="checkbox")
    listed = text_of(boss.get("/custom-fields"))
    assert "<code>carrier</code>" in listed and "DHL, UPS" in listed

    refused = text_of(post(client, f"/conversations/{conv.id}/custom-fields",
                           f"/conversations/{conv.id}", **{"field-carrier": "UPS",
                                                           "field-parcels": "two"}))
    assert "Parcels (parcels): must be a number" in refused
    page = text_of(post(client, f"/conversations/{conv.id}/status",
                        f"/conversations/{conv.id}", status="solved"))
    assert "Parcels (parcels) must be filled in before solving" in page
    post(client, f"/conversations/{conv.id}/custom-fields", f"/conversations/{conv.id}",
         **{"field-carrier": "UPS", "field-parcels": "2", "field-insured": "on"})
    assert stored(app, conv.id)[2] == {"carrier": "UPS", "parcels": 2, "insured": True}
    page = text_of(client.get(f"/conversations/{conv.id}"))
    assert "Marie Dupont changed the fields" in page
    assert '<option value="UPS" selected>UPS</option>' in page
    assert 'name="field-insured" checked' in page


def test_a_definition_is_edited_and_deleted_from_its_page(app, make):
    admin = make.user(Role.ADMIN)
    with app.app_context(), unit_of_work() as uow:
        field = custom_fields.create_field(uow, SYSTEM, key="ref", label="Ref", type="text")
    boss = app.test_client()
    AuthActions(boss).login(admin.email)
    saved = post(boss, f"/custom-fields/{field.id}", label="Référence", position="x")
    assert "The position is a whole number." in text_of(saved)
    post(boss, f"/custom-fields/{field.id}", label="Référence", position="3")
    assert "Référence" in text_of(boss.get("/custom-fields"))
    post(boss, f"/custom-fields/{field.id}/delete", "/custom-fields")
    assert "No custom field yet." in text_of(boss.get("/custom-fields"))


# --- tags ---------------------------------------------------------------------------------

def test_tags_link_to_the_inbox_filtered_by_tag(app, client, make, agent, conv):
    post(client, f"/conversations/{conv.id}/tags", f"/conversations/{conv.id}", tags="vip")
    other = make.conversation(subject="Untagged one")
    page = text_of(client.get(f"/conversations/{conv.id}"))
    link = re.search(r'<li class="tag"><a href="([^"]+)"[^>]*>vip</a>', page).group(1)
    inbox = text_of(client.get(link.replace("&amp;", "&")))
    assert f"#{conv.id}" in inbox and f"#{other.id}" not in inbox
