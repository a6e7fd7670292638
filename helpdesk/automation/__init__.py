"""Automation: rules of the form *trigger + conditions → actions*, stored in the database.

- ``conditions``: the condition language (JSON, checked on save, evaluated on facts);
- ``actions``: what rules do, and applying it;
- ``engine``: running a rule once per occurrence, in chains that cannot loop;
- ``triggers``: the event triggers (after commit); ``timed``: the time triggers (worker);
- ``replay``: the dry run over the last days' history.

docs/automation.md is the admins' guide.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from helpdesk.automation import timed, triggers
from helpdesk.extensions import unit_of_work
from helpdesk.periodic import periodic


def init_app(app: Flask) -> None:
    """Subscribe the event rules and give the worker the time rules."""
    triggers.init_app(app)
    periodic(app, "automation time rules", timed.EVERY, run_time_rules)


def run_time_rules(now: datetime) -> None:
    """The worker's job: fire the time rules that are due."""
    timed.run_due(unit_of_work, now)
