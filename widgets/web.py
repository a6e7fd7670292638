"""The widget's files, served to any page that embeds it, and the demo shop page.

``/widget.js`` is the one address sites paste into their pages, so it cannot carry a version:
it is cached briefly and a release reaches every site within minutes.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, render_template, request, send_from_directory
from sqlalchemy import select

from helpdesk.auth.guard import public
from helpdesk.demo.brand import BRAND
from helpdesk.extensions import db
from helpdesk.models import Site

bp = Blueprint("widgets", __name__, template_folder="templates")

STATIC_DIR = Path(__file__).resolve().parent / "static"
LOADER_MAX_AGE = 300
ASSET_MAX_AGE = 3600
JAVASCRIPT = "application/javascript"
DEMO_LANGUAGES = ("fr", "en")


@bp.get("/widget.js")
@public
def loader() -> Response:
    """The loader that sites include with ``<script src=…/widget.js data-site=KEY async>``."""
    return _static_file("widget.js", LOADER_MAX_AGE)


@bp.get("/widget/<path:filename>")
@public
def asset(filename: str) -> Response:
    """The widget's stylesheet and the vendored Socket.IO client."""
    return _static_file(filename, ASSET_MAX_AGE)


@bp.get("/demo")
@public
def demo() -> str:
    """Maison Lumière's shop page, with the chat widget of the demo site."""
    lang = request.args.get("lang", "")
    if lang not in DEMO_LANGUAGES:
        lang = request.accept_languages.best_match(DEMO_LANGUAGES, default="fr")
    return render_template("widgets/demo.html", lang=lang, site_key=demo_site_key(),
                           brand=BRAND)


def demo_site_key() -> str | None:
    """The key of the demo's chat site, or None until ``comptoir demo load`` created it."""
    return db.session.scalar(select(Site.key).where(Site.name == BRAND).order_by(Site.id).limit(1))


def _static_file(filename: str, max_age: int) -> Response:
    mimetype = JAVASCRIPT if filename.endswith(".js") else None
    response = send_from_directory(STATIC_DIR, filename, mimetype=mimetype, max_age=max_age)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
