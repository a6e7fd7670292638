"""Logging in and out, who may open what, and the account settings (language, presence)."""

import pytest

from helpdesk.extensions import db
from helpdesk.models import Presence, Role, User
from tests.helpers import csrf_token


def stored_user(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id)


def test_wrong_password_shows_a_message_and_stays_anonymous(client, auth, make):
    user = make.user()
    response = auth.login(user.email, "not the password")
    assert response.status_code == 200
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/conversations").status_code == 302


def test_login_lands_on_the_inbox(client, auth, make):
    user = make.user()
    response = auth.login(user.email)
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/conversations"
    page = client.get("/conversations").get_data(as_text=True)
    assert user.name in page and "Log out" in page


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/conversations?view=all")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/conversations")


@pytest.mark.parametrize(("target", "landing"), [
    ("/customers?q=ada", "/customers?q=ada"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
])
def test_login_follows_next_only_within_the_site(client, make, target, landing):
    user = make.user()
    token = csrf_token(client, "/login")
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": "correct horse battery",
                                 "csrf_token": token})
    assert response.headers["Location"] == landing


def test_login_without_csrf_token_is_refused(client, make):
    user = make.user()
    response = client.post("/login", data={"email": user.email,
                                           "password": "correct horse battery"})
    assert response.status_code == 400
    assert client.get("/conversations").status_code == 302


def test_logout_ends_the_session(client, auth, make):
    auth.login(make.user().email)
    response = auth.logout()
    assert response.headers["Location"] == "/login"
    assert "You are logged out." in client.get("/login").get_data(as_text=True)
    assert client.get("/conversations").status_code == 302


def test_a_knowledge_manager_cannot_see_conversations(client, auth, make):
    conv = make.conversation()
    auth.login(make.user(Role.KNOWLEDGE_MANAGER).email)
    for path in ("/conversations", f"/conversations/{conv.id}", f"/customers/{conv.customer_id}"):
        response = client.get(path)
        assert response.status_code == 403
        assert "You cannot open this page" in response.get_data(as_text=True)
    assert client.get("/").headers["Location"] == "/account"
    account = client.get("/account").get_data(as_text=True)
    assert "Knowledge manager" in account and 'href="/conversations"' not in account


def test_french_interface_from_the_browser_language(client, auth, make):
    login_page = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert "Se connecter" in login_page.get_data(as_text=True)
    assert '<html lang="fr">' in login_page.get_data(as_text=True)
    make.conversation(subject="Colis perdu")
    auth.login(make.user().email)
    page = client.get("/conversations?view=all", headers={"Accept-Language": "fr"})
    text = page.get_data(as_text=True)
    assert "Boîte de réception" in text and "Priorité" in text and "Nouvelle" in text


def test_the_language_setting_wins_over_the_browser(app, client, auth, make):
    user = make.user()
    auth.login(user.email)
    token = csrf_token(client, "/account")
    client.post(f"/account/{user.id}/locale", data={"locale": "fr", "csrf_token": token})
    assert stored_user(app, user.id).locale == "fr"
    page = client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Mon compte" in page
    client.post(f"/account/{user.id}/locale", data={"locale": "", "csrf_token": token})
    assert stored_user(app, user.id).locale is None


def test_an_unknown_language_is_refused(app, client, auth, make):
    user = make.user()
    auth.login(user.email)
    response = client.post(f"/account/{user.id}/locale", follow_redirects=True,
                           data={"locale": "xx", "csrf_token": csrf_token(client, "/account")})
    assert "This language is not available." in response.get_data(as_text=True)
    assert stored_user(app, user.id).locale is None


def test_presence_is_saved_and_we_return_to_the_page(app, client, auth, make):
    user = make.user()
    auth.login(user.email)
    response = client.post(f"/account/{user.id}/presence",
                           data={"presence": "away", "next": "/customers",
                                 "csrf_token": csrf_token(client, "/account")})
    assert response.headers["Location"] == "/customers"
    assert stored_user(app, user.id).presence == Presence.AWAY


def test_an_agent_cannot_change_someone_elses_presence(app, client, auth, make):
    other = make.user()
    auth.login(make.user().email)
    response = client.post(f"/account/{other.id}/presence",
                           data={"presence": "away", "csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 403
    assert stored_user(app, other.id).presence == Presence.OFFLINE


def test_styles_and_scripts_are_served_to_anonymous_visitors(client):
    for asset in ("app.css", "app.js", "vendor/htmx/htmx.min.js"):
        response = client.get(f"/static/web/{asset}")
        assert response.status_code == 200, asset
        response.close()
