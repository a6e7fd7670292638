"""Extensions, created once here and bound to each app in ``create_app``."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

from helpdesk.api.openapi import ComptoirApi
from helpdesk.events import EventBus
from helpdesk.orm import Database
from helpdesk.uow import UnitOfWork

db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
api = ComptoirApi()
socketio = SocketIO()


def event_bus() -> EventBus:
    from flask import current_app

    return current_app.extensions["comptoir.events"]


def unit_of_work() -> UnitOfWork:
    """A fresh unit of work bound to the current app's database and event bus."""
    return UnitOfWork(db.session_factory, event_bus())
