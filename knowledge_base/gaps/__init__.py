"""Content gaps: the questions the assistant escalated, clustered by meaning, ranked for the
knowledge managers, each able to become a draft article from the agents' replies.

``service`` stores and clusters (the worker's ``refresh`` job), ``clustering`` is the
algorithm, ``queries`` the ranked read side, ``drafting`` the draft from replies,
``scrub`` the personal data taken out of drafts. Erasure calls ``forget_customer``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask, current_app

from helpdesk.extensions import unit_of_work
from helpdesk.periodic import periodic
from knowledge_base.gaps.service import GapSettings, forget_customer, refresh
from knowledge_base.search import search_service

__all__ = ["forget_customer", "init_app", "refresh_now"]
log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Have the worker cluster new questions every ``content_gap_refresh_seconds``."""
    periodic(app, "content gaps: clustering new questions",
             app.config["COMPTOIR"].content_gap_refresh_seconds, _refresh_job)


def refresh_now() -> int:
    """Cluster the questions waiting (with the app's model and threshold); how many."""
    settings = current_app.config["COMPTOIR"]
    search = search_service()
    with unit_of_work() as uow:
        return refresh(uow, GapSettings(search.model, settings.content_gap_similarity),
                       lambda: search.embedder)


def _refresh_job(_now: datetime) -> None:
    placed = refresh_now()
    if placed:
        log.info("content gaps: %d questions clustered", placed)
