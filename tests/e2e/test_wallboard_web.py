"""The wallboard page and GET /api/v1/wallboard: supervisors and admins only, readable in
English and French, the same figures in both."""

from __future__ import annotations

import pytest

from helpdesk.models import Channel, Role
from tests.e2e.api_helpers import ApiClient, error_of


@pytest.fixture
def billing(make):
    queue = make.queue("Billing <&>")
    make.conversation(queue_id=queue.id, channel=Channel.CHAT)
    make.conversation(queue_id=queue.id)
    return queue


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_supervisors_and_admins_see_every_queue_as_a_tile(client, auth, make, billing, role):
    auth.login(make.user(role).email)
    page = client.get("/wallboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-queue-id="{billing.id}"' in html
    assert "Billing &lt;&amp;&gt;" in html and "Billing <&>" not in html
    assert '<span class="wb-value" data-field="waiting_total">2</span>' in html
    assert '<span data-field="waiting.chat">1</span>' in html
    assert 'data-field="within_sla_percent" data-format="percent">—<' in html
    assert "/wallboard" in client.get("/conversations").get_data(as_text=True)  # in the menu


def test_agents_are_refused_the_page_the_api_and_the_menu_link(client, auth, make, billing):
    auth.login(make.user(Role.AGENT).email)
    assert client.get("/wallboard").status_code == 403
    refused = ApiClient(client).get("/wallboard")
    assert (refused.status_code, error_of(refused)["code"]) == (403, "forbidden")
    assert "/wallboard" not in client.get("/conversations").get_data(as_text=True)


def test_the_page_speaks_french(client, auth, make, billing):
    auth.login(make.user(Role.SUPERVISOR).email)
    html = client.get("/wallboard", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr">' in html
    for words in ["Tableau de supervision", "Mis à jour à", "en attente",
                  "attente la plus longue", "dans le SLA", "Occupés", "En ligne"]:
        assert words in html, words


def test_the_api_gives_the_boards_figures(client, auth, make, billing):
    auth.login(make.user(Role.SUPERVISOR).email)
    body = ApiClient(client).get("/wallboard").get_json()
    [queue] = body["queues"]
    assert queue == {
        "queue_id": billing.id, "name": "Billing <&>", "waiting": {"chat": 1, "email": 1},
        "waiting_total": 2, "oldest_waiting_since": queue["oldest_waiting_since"],
        "longest_wait_seconds": queue["longest_wait_seconds"],
        "agents": {"online": 0, "busy": 0, "away": 0, "offline": 0},
        "answered_today": 0, "answered_within_sla": 0, "within_sla_percent": None,
        "abandoned_calls_today": 0, "calls_waiting": 0}
    assert queue["oldest_waiting_since"] <= body["generated_at"]
    assert 0 <= queue["longest_wait_seconds"] < 60
