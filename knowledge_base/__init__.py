"""The knowledge base: articles (versions, Markdown, import/export) and their search."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from knowledge_base.search.embedder import Embedder


def init_app(app: Flask, embedder_factory: Callable[[], Embedder] | None = None) -> None:
    """Register the search service, the content-gap clustering job, the ``comptoir kb``
    commands, the managers' UI and the public help centre."""
    from knowledge_base import gaps, search
    from knowledge_base.cli import kb_group
    from knowledge_base.help_centre import bp as help_bp
    from knowledge_base.web import bp as kb_bp

    search.init_app(app, embedder_factory)
    gaps.init_app(app)
    app.cli.add_command(kb_group)
    app.register_blueprint(kb_bp)
    app.register_blueprint(help_bp)
