"""Customers: the list, one customer's page, and the timeline read in slices."""

import re

import pytest

from helpdesk.events import Actor
from helpdesk.extensions import unit_of_work
from helpdesk.models import ConversationStatus, TimelineEvent
from helpdesk.services import conversations, customers
from helpdesk.services.conversations import NewMessage


@pytest.fixture
def agent(make, auth):
    user = make.user(email="sam@staff.example")
    auth.login(user.email)
    return user


def test_list_and_search_by_name_or_identity(client, make, agent):
    make.customer("Ada Lovelace", email="ada@example.com")
    make.customer("Grace Hopper", email="grace@navy.example")
    assert "2 customers" in client.get("/customers").get_data(as_text=True)
    by_name = client.get("/customers?q=lovelace").get_data(as_text=True)
    assert "Ada Lovelace" in by_name and "Grace Hopper" not in by_name
    by_email = client.get("/customers?q=navy.example").get_data(as_text=True)
    assert "Grace Hopper" in by_email and "Ada Lovelace" not in by_email


def test_customer_page_shows_profile_conversations_and_history(app, client, make, agent):
    ada = make.customer("Ada Lovelace", email="ada@example.com")
    make.custom_field(subject="customer", key="plan", label="plan", type="text")
    with app.app_context(), unit_of_work() as uow:
        customers.update_customer(uow, Actor("agent", agent.id), ada.id, language="fr",
                                  timezone="Europe/Paris", consents={"marketing_email": True},
                                  attributes={"plan": "gold"})
    conv = make.conversation(ada, subject="Invoice copy")
    with app.app_context(), unit_of_work() as uow:
        conversations.change_status(uow, Actor("agent", agent.id), conv.id,
                                    ConversationStatus.SOLVED)
    text = client.get(f"/customers/{ada.id}").get_data(as_text=True)
    for expected in ("ada@example.com", "Europe/Paris", "Marketing emails", "plan", "gold",
                     "Invoice copy", "sam changed the status from New to Solved",
                     "Ada Lovelace opened a conversation", "sam updated the profile"):
        assert expected in text
    assert text.index("changed the status") < text.index("opened a conversation")


def test_timeline_loads_more_with_a_cursor(app, client, make, agent):
    conv = make.conversation()
    with app.app_context(), unit_of_work() as uow:
        for n in range(12):
            conversations.post_message(uow, conv.id, NewMessage(f"follow-up {n}",
                                                                Actor("agent", agent.id)))
    page = client.get(f"/conversations/{conv.id}").get_data(as_text=True)
    sidebar = page[page.index('id="timeline"'):]
    assert "follow-up 11" in sidebar and "follow-up 0" not in sidebar
    more = re.search(r'hx-get="([^"]+)"', sidebar).group(1).replace("&amp;", "&")
    older = client.get(more).get_data(as_text=True)
    assert "follow-up 0" in older and "follow-up 11" not in older
    assert "created the customer profile" in older
    assert "Load more" not in older


def test_an_unknown_cursor_is_refused(client, make, agent):
    customer = make.customer()
    response = client.get(f"/customers/{customer.id}/timeline?cursor=bogus")
    assert response.status_code == 422


def test_unknown_event_types_are_still_readable(app, client, make, agent):
    customer = make.customer()
    with app.app_context(), unit_of_work() as uow:  # a type later issues will record
        uow.session.add(TimelineEvent(customer_id=customer.id, type="call.ended", channel="phone",
                                      actor_kind="system", payload={"duration_s": 312}))
        uow.commit()
    text = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "System: call.ended" in text and "duration_s" in text and "312" in text
