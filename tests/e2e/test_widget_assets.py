"""The chat widget's files (/widget.js, /widget/…) and the Maison Lumière demo page (/demo)."""

import re
from pathlib import Path

import pytest

from helpdesk.demo.brand import BRAND
from helpdesk.events import SYSTEM
from helpdesk.extensions import unit_of_work
from helpdesk.services import sites

STATIC = Path(__file__).resolve().parents[2] / "widgets" / "static"
LOADER = (STATIC / "widget.js").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def client(module_app):
    return module_app.test_client()


def fetch(client, path: str, **kwargs):
    """GET a file and close it: file responses keep the file open until closed."""
    response = client.get(path, **kwargs)
    response.get_data()
    response.close()
    return response


def _max_age(response) -> int:
    match = re.search(r"max-age=(\d+)", response.headers.get("Cache-Control", ""))
    assert match, response.headers.get("Cache-Control")
    return int(match.group(1))


def test_the_loader_is_javascript_cached_briefly(client):
    response = fetch(client, "/widget.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert 0 < _max_age(response) <= 600
    assert response.get_data(as_text=True) == LOADER


def test_the_vendored_socket_io_client_is_served(client):
    response = fetch(client, "/widget/vendor/socket.io.min.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.get_data(as_text=True).startswith("/*!\n * Socket.IO v4.")
    assert "MIT License" in fetch(client, "/widget/vendor/socket.io.LICENSE").get_data(
        as_text=True)


def test_the_stylesheet_is_served(client):
    response = fetch(client, "/widget/widget.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert ".cw-panel" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/widget/nope.js", "/widget/../web.py", "/widget/%2e%2e/web.py",
                                  "/widget/../templates/widgets/demo.html"])
def test_nothing_else_is_served(client, path):
    assert fetch(client, path).status_code == 404


def test_the_loader_never_parses_markup():
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function"):
        assert sink not in LOADER, sink


def test_the_loader_loads_its_assets_from_its_own_host():
    assert 'new URL(".", tag.src)' in LOADER
    for asset in ('"widget/vendor/socket.io.min.js"', '"widget/widget.css"', '"/chat"'):
        assert asset in LOADER, asset


def test_the_demo_without_a_site_says_how_to_create_one(client):
    page = client.get("/demo?lang=en").get_data(as_text=True)
    assert "comptoir demo load" in page
    assert "data-site=" not in page.replace('data-site="SITE_KEY"', "")
    assert '<script src="/widget.js"' not in page


def test_the_demo_embeds_the_widget_of_the_demo_site(module_app, client):
    with module_app.app_context(), unit_of_work() as uow:
        key = sites.create_site(uow, SYSTEM, name=BRAND, prechat=["email"]).key
    for lang, title in (("fr", "La lumière douce"), ("en", "Soft light")):
        page = client.get(f"/demo?lang={lang}").get_data(as_text=True)
        assert title in page
        assert (f'<script src="/widget.js" data-site="{key}" data-locale="{lang}" async>'
                in page)
        assert "comptoir demo load" not in page


def test_the_demo_follows_the_browser_language(client):
    page = client.get("/demo", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert page.status_code == 200
    assert '<html lang="en">' in page.get_data(as_text=True)
    french = client.get("/demo?lang=de", headers={"Accept-Language": "fr-FR"})
    assert '<html lang="fr">' in french.get_data(as_text=True)
