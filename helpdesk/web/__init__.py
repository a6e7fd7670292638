"""The agent web UI (server-rendered Jinja, htmx for small in-place updates)."""

from pathlib import Path

from flask import Blueprint, send_from_directory
from flask.typing import ResponseReturnValue

from helpdesk.auth.guard import public

STATIC_DIR = Path(__file__).with_name("static")

bp = Blueprint("web", __name__, template_folder="templates")


@bp.get("/static/web/<path:filename>", endpoint="static")
@public
def static_file(filename: str) -> ResponseReturnValue:
    """CSS, scripts and vendored files; open to all, as the login page needs them."""
    return send_from_directory(STATIC_DIR, filename)


# Importing the modules registers their routes, filters and template context on ``bp``.
from helpdesk.web import (  # noqa: E402,F401
    account_views,
    auth_views,
    automation_views,
    call_views,
    context,
    conversation_views,
    csat_views,
    custom_field_views,
    customer_import_views,
    customer_merge_views,
    customer_views,
    inbox_tools_views,
    inbox_views,
    macro_views,
    mailbox_views,
    mentions,
    merge_views,
    notification_views,
    organisation_views,
    privacy_views,
    report_views,
    routing_views,
    segment_views,
    sla_views,
    wallboard_views,
)

