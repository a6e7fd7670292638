"""REST API v1 (flask-smorest): one blueprint per area, all named ``api_*``."""

from __future__ import annotations

from flask_smorest import Api, Blueprint


def register_api(api: Api) -> list[Blueprint]:
    """Register every API blueprint; returns them so the factory can exempt them from CSRF."""
    from helpdesk.api.meta import blp as meta

    blueprints = [meta]
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    return blueprints
