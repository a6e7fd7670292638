"""REST API v1 (flask-smorest): one blueprint per area, all named ``api_*``."""

from __future__ import annotations

from flask_smorest import Api, Blueprint


def register_api(api: Api) -> list[Blueprint]:
    """Register every API blueprint; returns them so the factory can exempt them from CSRF."""
    from helpdesk.api.assistant import blp as assistant
    from helpdesk.api.automation import blp as automation
    from helpdesk.api.calls import blp as calls
    from helpdesk.api.conversation_tools import blp as conversation_tools
    from helpdesk.api.conversations import blp as conversations
    from helpdesk.api.custom_fields import blp as custom_fields
    from helpdesk.api.customers import blp as customers
    from helpdesk.api.inbound import blp as inbound
    from helpdesk.api.macros import blp as macros
    from helpdesk.api.meta import blp as meta
    from helpdesk.api.queues import blp as queues
    from helpdesk.api.routing import blp as routing
    from helpdesk.api.sla import blp as sla
    from helpdesk.api.users import blp as users
    from helpdesk.api.views import blp as views
    from helpdesk.api.wallboard import blp as wallboard
    from knowledge_base.api import blp as knowledge_base

    blueprints = [meta, conversations, customers, queues, users, inbound, knowledge_base,
                  macros, custom_fields, conversation_tools, views,
                  assistant, wallboard, calls, routing, automation, sla]
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    return blueprints
