"""What customers embed on their website: the chat widget (``/widget.js`` and its assets under
``/widget/``) and ``/demo``, a demo shop page that embeds it."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the widgets' blueprint."""
    from widgets.web import bp

    app.register_blueprint(bp)
