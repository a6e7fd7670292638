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
    from helpdesk.api.csat import blp as csat
    from helpdesk.api.custom_fields import blp as custom_fields
    from helpdesk.api.customer_imports import blp as customer_imports
    from helpdesk.api.customers import blp as customers
    from helpdesk.api.inbound import blp as inbound
    from helpdesk.api.macros import blp as macros
    from helpdesk.api.meta import blp as meta
    from helpdesk.api.organisations import blp as organisations
    from helpdesk.api.privacy import blp as privacy
    from helpdesk.api.queues import blp as queues
    from helpdesk.api.reports import blp as reports
    from helpdesk.api.routing import blp as routing
    from helpdesk.api.segments import blp as segments
    from helpdesk.api.sla import blp as sla
    from helpdesk.api.users import blp as users
    from helpdesk.api.views import blp as views
    from helpdesk.api.wallboard import blp as wallboard
    from knowledge_base.api import blp as knowledge_base
    from knowledge_base.gaps.api import blp as content_gaps

    blueprints = [meta, conversations, customers, queues, users, inbound, knowledge_base,
                  macros, custom_fields, conversation_tools, views,
                  assistant, wallboard, calls, routing, automation, sla, content_gaps,
                  organisations, privacy, csat, segments, customer_imports, reports]
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    return blueprints
