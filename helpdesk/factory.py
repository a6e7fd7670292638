"""The application factory (``from helpdesk import create_app`` finds it here)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask, request
from flask_login import current_user

from config import load_settings
from helpdesk import errors_http, migrate
from helpdesk.auth import guard
from helpdesk.events import EventBus
from helpdesk.extensions import api as rest_api
from helpdesk.extensions import babel, csrf, db, login_manager, socketio
from helpdesk.models import User

if TYPE_CHECKING:
    from knowledge_base.search.embedder import Embedder


def create_app(config: Mapping[str, Any] | None = None, *,
               embedder_factory: Callable[[], Embedder] | None = None) -> Flask:
    """Build a Comptoir app; ``config`` overrides settings (lower-case keys, as in defaults).

    ``embedder_factory`` replaces the configured embedding model (tests pass a fake).
    """
    settings = load_settings(config)
    app = Flask(__name__, instance_path=settings.instance_path)
    _configure(app, settings)
    _init_extensions(app, settings)
    _register_blueprints(app, embedder_factory)
    return app


def _configure(app: Flask, settings: Any) -> None:
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=settings.log_level)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.root.level))
    app.config.update(
        COMPTOIR=settings,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.default_timezone,
        API_TITLE="Comptoir API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
            "security": [{"bearer": []}, {"session": []}]},
    )


def _init_extensions(app: Flask, settings: Any) -> None:
    app.extensions["comptoir.events"] = EventBus()
    db.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.user_loader(_load_active_user)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    # Brands' pages open /chat from their own origins: each namespace checks the origin
    # itself (/chat against the site's list, /agent against this host for cookie sessions).
    socketio.init_app(app, message_queue=settings.redis_url or None, async_mode="threading",
                      cors_allowed_origins="*")
    rest_api.init_app(app)
    migrate.init_app(app)
    guard.init_app(app)
    errors_http.init_app(app)


def _register_blueprints(app: Flask, embedder_factory: Callable[[], Embedder] | None) -> None:
    from bot.responder import init_app as init_assistant
    from helpdesk.api import register_api
    from helpdesk.automation import init_app as init_automation
    from helpdesk.chat_files import bp as chat_files_bp
    from helpdesk.cli import register_commands
    from helpdesk.integrations.orders import init_app as init_order_lookup
    from helpdesk.jobs import init_app as init_jobs
    from helpdesk.mail.triggers import init_app as init_mail_triggers
    from helpdesk.privacy import init_app as init_privacy
    from helpdesk.realtime import register_handlers
    from helpdesk.realtime.calls import init_app as init_screen_pops
    from helpdesk.realtime.wallboard import init_app as init_wallboard
    from helpdesk.routing_triggers import init_app as init_routing
    from helpdesk.sla_triggers import init_app as init_sla
    from helpdesk.web import bp as web_bp
    from knowledge_base import init_app as init_knowledge_base
    from widgets import init_app as init_widgets

    for blueprint in register_api(rest_api):
        csrf.exempt(blueprint)  # the guard checks CSRF itself for cookie-authenticated writes
    app.register_blueprint(web_bp)
    app.register_blueprint(chat_files_bp)
    register_handlers(app, socketio)
    register_commands(app)
    init_knowledge_base(app, embedder_factory)
    init_assistant(app)
    init_widgets(app)
    init_mail_triggers(app)
    init_order_lookup(app)
    init_jobs(app)
    init_privacy(app)
    init_automation(app)  # before routing: a rule may move a new conversation to a queue
    init_routing(app)
    init_sla(app)
    init_wallboard(app)
    init_screen_pops(app)


def _load_active_user(user_id: str) -> User | None:
    """The session's user, unless deactivated since they logged in."""
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def _select_locale() -> str | None:
    languages = load_languages()
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return request.accept_languages.best_match(languages)


def load_languages() -> list[str]:
    from flask import current_app

    return current_app.config["COMPTOIR"].languages
