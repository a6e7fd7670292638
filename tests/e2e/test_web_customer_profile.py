"""The customer page (profile, attributes, consents, organisation, filtered timeline,
merge and unmerge) and the organisation pages, through the web UI's forms."""

from __future__ import annotations

import re

import pytest

from helpdesk.events import SYSTEM, Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import (
    Channel,
    Customer,
    CustomerMerge,
    IdentityKind,
    Organisation,
    Role,
)
from helpdesk.services import conversations, customer_merges, customers, organisations
from helpdesk.services.conversations import NewMessage
from tests.conftest import AuthActions
from tests.helpers import csrf_token

HOSTILE = "<b>Ada</b> & co"


def post(client, path, page, **form):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **form},
                       follow_redirects=True)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def stored(app, customer_id: int) -> Customer:
    with app.app_context():
        return db.session.get(Customer, customer_id)


@pytest.fixture
def agent(make, auth):
    user = make.user(email="sam@staff.example", name="Sam")
    auth.login(user.email)
    return user


@pytest.fixture
def supervisor(make, auth):
    user = make.user(Role.SUPERVISOR, email="helene@staff.example", name="Hélène")
    auth.login(user.email)
    return user


@pytest.fixture
def attributes(make):
    make.custom_field(subject="customer", key="tier", label="Loyalty tier", type="select",
                      options=["silver", "gold"])
    make.custom_field(subject="customer", key="birthday", label="Birthday", type="date")


@pytest.fixture
def lumen(app):
    with app.app_context(), unit_of_work() as uow:
        return organisations.create_organisation(uow, SYSTEM, name="Atelier <Lumen>",
                                                 domains=["lumen.example"])


# --- the customer page ---------------------------------------------------------------------

def test_the_page_shows_identities_profile_organisation_consents_and_attributes(
        app, client, make, agent, attributes, lumen):
    ada = make.customer(HOSTILE, email="ada@lumen.example")
    with app.app_context(), unit_of_work() as uow:
        customers.add_identity(uow, SYSTEM, ada.id, IdentityKind.EXTERNAL, "shop-42",
                               verified=True)
        customers.update_customer(uow, SYSTEM, ada.id, language="fr", timezone="Europe/Paris",
                                  consents={"marketing_email": True},
                                  attributes={"tier": "gold"})
    page = text_of(client.get(f"/customers/{ada.id}"))
    for expected in ("ada@lumen.example", "shop-42", "External ID", "Europe/Paris",
                     "Atelier &lt;Lumen&gt;", "Marketing emails", "Loyalty tier", "gold",
                     "&lt;b&gt;Ada&lt;/b&gt; &amp; co",
                     "Joined the organisation Atelier &lt;Lumen&gt; (by their email domain)"):
        assert expected in page, expected
    assert "<b>Ada</b>" not in page


def test_attributes_are_saved_and_a_bad_one_is_named(app, client, make, agent, attributes):
    ada = make.customer()
    page = f"/customers/{ada.id}"
    done = post(client, f"{page}/attributes", page, **{"field-tier": "silver",
                                                       "field-birthday": "1990-04-01"})
    assert "Attributes saved." in text_of(done)
    assert stored(app, ada.id).attributes == {"tier": "silver", "birthday": "1990-04-01"}
    refused = post(client, f"{page}/attributes", page, **{"field-tier": "platinum"})
    assert "Loyalty tier (tier): must be one of silver, gold" in text_of(refused)
    assert stored(app, ada.id).attributes["tier"] == "silver"


def test_consents_are_saved_yes_no_or_not_asked(app, client, make, agent):
    ada = make.customer()
    page = f"/customers/{ada.id}"
    post(client, f"{page}/consents", page, **{"consent-marketing_email": "yes",
                                              "consent-marketing_sms": "no"})
    assert stored(app, ada.id).consents == {"marketing_email": True, "marketing_sms": False}
    post(client, f"{page}/consents", page, **{"consent-marketing_email": "yes"})
    assert stored(app, ada.id).consents == {"marketing_email": True}


def test_the_organisation_is_chosen_by_name(app, client, make, agent, lumen):
    ada = make.customer()
    page = f"/customers/{ada.id}"
    post(client, f"{page}/organisation", page, organisation="atelier <lumen>")
    assert stored(app, ada.id).organisation_id == lumen.id
    refused = post(client, f"{page}/organisation", page, organisation="Nowhere Ltd")
    assert "No organisation is called Nowhere Ltd." in text_of(refused)
    post(client, f"{page}/organisation", page, organisation="")
    assert stored(app, ada.id).organisation_id is None


def test_the_timeline_filters_by_channel_and_event_and_keeps_them_when_loading_more(
        app, client, make, agent):
    ada = make.customer()
    chat, email = (make.conversation(ada, channel=c) for c in (Channel.CHAT, Channel.EMAIL))
    with app.app_context(), unit_of_work() as uow:
        for n in range(30):
            conversations.post_message(uow, chat.id, NewMessage(f"chat line {n}",
                                                                Actor("agent", agent.id)))
        conversations.post_message(uow, email.id, NewMessage("by email",
                                                             Actor("agent", agent.id)))
    emails = text_of(client.get(f"/customers/{ada.id}?channel=email"))
    timeline = emails[emails.index('id="timeline"'):]
    assert "by email" in timeline and "chat line" not in timeline
    chats = text_of(client.get(f"/customers/{ada.id}?channel=chat&type=message.posted"))
    timeline = chats[chats.index('id="timeline"'):]
    assert "chat line 29" in timeline and "opened a conversation" not in timeline
    more = re.search(r'hx-get="([^"]+)"', timeline).group(1).replace("&amp;", "&")
    assert "channel=chat" in more and "type=message.posted" in more
    older = text_of(client.get(more))
    assert "chat line 0" in older and "by email" not in older and "Load more" not in older


# --- merging -------------------------------------------------------------------------------

def test_a_supervisor_merges_a_suggested_duplicate_then_undoes_it(app, client, make,
                                                                    supervisor):
    ada, twin = make.customer("Ada", email="ada@example.com"), make.customer("Ada (chat)")
    make.conversation(twin, subject="Chat about my lamp")
    with app.app_context(), unit_of_work() as uow:
        uow.session.get(Customer, twin.id).claimed_email = "ada@example.com"
        uow.commit()
    page = text_of(client.get(f"/customers/{ada.id}"))
    assert "May be the same person" in page and "Shares the address ada@example.com" in page
    merged = text_of(post(client, f"/customers/{ada.id}/merge", f"/customers/{ada.id}",
                          source_id=str(twin.id)))
    assert "Customer merged into this one." in merged and "Chat about my lamp" in merged
    assert f"#{twin.id} merged into #{ada.id} by Hélène" in merged
    away = text_of(client.get(f"/customers/{twin.id}"))
    assert "This profile was merged into another one." in away and "Undo this merge" in away
    undone = text_of(post(client, f"/customers/{ada.id}/unmerge", f"/customers/{ada.id}",
                          source_id=str(twin.id)))
    assert "Merge undone: the customer is on their own again." in undone
    assert "Chat about my lamp" in undone  # the restored customer's page, their conversation
    with app.app_context():
        record = db.session.query(CustomerMerge).filter_by(source_id=twin.id).one()
        assert (record.merged_by_id, record.unmerged_by_id) == (supervisor.id, supervisor.id)
    assert stored(app, twin.id).merged_into_id is None


def test_agents_see_no_merge_buttons_and_cannot_post_them(app, client, make, agent):
    ada, twin = make.customer(), make.customer()
    page = text_of(client.get(f"/customers/{ada.id}"))
    assert "Merge customer # into this one" not in page
    token = csrf_token(client, f"/customers/{ada.id}")
    response = client.post(f"/customers/{ada.id}/merge",
                           data={"csrf_token": token, "source_id": str(twin.id)})
    assert response.status_code == 403
    with app.app_context(), unit_of_work() as uow:
        customer_merges.merge_customers(uow, SYSTEM, twin.id, ada.id)
    history = text_of(client.get(f"/customers/{ada.id}"))
    assert f"#{twin.id} merged into #{ada.id}" in history and "Undo merge" not in history


# --- organisations -------------------------------------------------------------------------

def test_organisations_are_created_listed_edited_and_deleted(app, client, make, agent):
    created = post(client, "/organisations", "/organisations", name="Verre & Co",
                   domains="verre.example, @Verre-Pro.example", notes="Glassmakers")
    assert "Organisation created." in text_of(created)
    with app.app_context():
        organisation = db.session.query(Organisation).one()
        assert organisation.domains == ["verre-pro.example", "verre.example"]
    taken = client.post("/organisations", data={
        "csrf_token": csrf_token(client, "/organisations"), "name": "verre & co"})
    assert taken.status_code == 409 and "already called" in text_of(taken)
    page = f"/organisations/{organisation.id}"
    member = make.customer("Jo", email="jo@verre.example")  # joins by domain
    shown = text_of(client.get(page))
    assert "Verre &amp; Co" in shown and "jo@verre.example" in shown and "1 member" in shown
    post(client, page, page, name="Verre et Cie", domains="verre.example", notes="")
    assert "Verre et Cie" in text_of(client.get("/organisations?q=cie"))
    post(client, f"{page}/members/{member.id}/remove", page)
    assert stored(app, member.id).organisation_id is None
    post(client, f"{page}/members", page, customer_id=str(member.id))
    assert stored(app, member.id).organisation_id == organisation.id
    deleted = post(client, f"{page}/delete", page)
    assert "Organisation deleted." in text_of(deleted)
    assert stored(app, member.id).organisation_id is None


def test_admins_define_customer_attributes_on_the_fields_page(app, client, make):
    admin = make.user(Role.ADMIN)
    AuthActions(client).login(admin.email)
    page = text_of(client.get("/custom-fields"))
    assert "Customer attributes" in page and "Organisation attributes" in page
    done = post(client, "/custom-fields", "/custom-fields", subject="customer",
                key="segment", label="Segment", type="select", options="b2c\nb2b",
                position="0")
    assert "Field created." in text_of(done)
    ada = make.customer()
    form = text_of(client.get(f"/customers/{ada.id}"))
    assert 'name="field-segment"' in form and '<option value="b2b"' in form
