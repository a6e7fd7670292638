"""Maison Lumière's help centre: the demo's knowledge-base articles, in English and French.

The articles are the Markdown files in ``knowledge/`` (YAML front matter, the format of
``comptoir kb import``); their ids make a second load update them rather than add copies.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from helpdesk.events import SYSTEM
from helpdesk.uow import UnitOfWork
from knowledge_base.importer import ImportSummary, import_entries, read_markdown_folder

KNOWLEDGE_FOLDER = Path(__file__).resolve().parent / "knowledge"


def load_demo_articles(unit_of_work_factory: Callable[[], UnitOfWork]) -> ImportSummary:
    """Import (or update) the demo's articles, each in a unit of work of its own."""
    entries = read_markdown_folder(KNOWLEDGE_FOLDER)
    return import_entries(entries, unit_of_work_factory, SYSTEM)
