"""The knowledge base: articles (versions, Markdown, import/export) and their search."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the ``comptoir kb`` commands, the managers' UI and the public help centre."""
    from knowledge_base.cli import kb_group
    from knowledge_base.help_centre import bp as help_bp
    from knowledge_base.web import bp as kb_bp

    app.cli.add_command(kb_group)
    app.register_blueprint(kb_bp)
    app.register_blueprint(help_bp)
