"""Privacy: a customer's data exported or erased on request, and retention rules.

- ``scope``: where a customer's data lives (every row reached through foreign keys);
- ``archive``: the export's zip archive; ``exports``: export requests, built and expired;
- ``erasure``: erasing a customer, all-or-nothing; ``retention``: the rules the worker applies;
- ``imports``: the rows of uploaded customer files (CSV imports) that name a customer;
- ``queries``: the requests listed.

docs/privacy.md is the guide for supervisors and admins.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app

from helpdesk.chat_files import storage_dir
from helpdesk.extensions import unit_of_work
from helpdesk.periodic import periodic
from helpdesk.privacy import exports, retention
from helpdesk.privacy.exports import Folders

EXPORTS_FOLDER = "exports"
EXPORTS_EVERY = 10.0  # seconds: someone is waiting for the archive
RETENTION_EVERY = 3600.0


def init_app(app: Flask) -> None:
    """Give the worker the exports to build and the retention rules to apply."""
    periodic(app, "privacy: exports", EXPORTS_EVERY, build_exports)
    periodic(app, "privacy: retention", RETENTION_EVERY, apply_retention)


def folders() -> Folders:
    """The current app's folders for export archives and attachments."""
    return Folders(exports=current_app.config["COMPTOIR"].instance_dir / EXPORTS_FOLDER,
                   attachments=storage_dir())


def build_exports(now: datetime) -> None:
    """The worker's job: build the exports waiting, delete the archives too old."""
    exports.build_waiting(unit_of_work, folders(), now)
    with unit_of_work() as uow:
        exports.expire_archives(uow, folders().exports, now)


def apply_retention(now: datetime) -> None:
    """The worker's job: delete what the retention rules say is too old."""
    retention.apply(unit_of_work, now, storage_dir())
