"""The agent web UI (server-rendered Jinja)."""

from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/web")

from helpdesk.web import auth_views  # noqa: E402,F401  (routes register on bp)
