"""Who may do what: the single table every entrypoint consults.

Roles grant permissions; an API token narrows its user's permissions to its
scopes. Views declare the permission they need with ``@requires`` and the
check happens in one place (``helpdesk.auth.guard``).
"""

from __future__ import annotations

from enum import StrEnum

from helpdesk.models.staff import Role


class Permission(StrEnum):
    CONVERSATIONS_READ = "conversations:read"
    CONVERSATIONS_WRITE = "conversations:write"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    CUSTOMERS_MERGE = "customers:merge"
    QUEUES_READ = "queues:read"
    QUEUES_MANAGE = "queues:manage"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    AUDIT_READ = "audit:read"
    KNOWLEDGE_READ = "knowledge:read"
    KNOWLEDGE_MANAGE = "knowledge:manage"
    ACCOUNT_MANAGE = "account:manage"  # a staff account's presence and personal tokens
    # Hand raw emails to the intake (a mail relay's token): they speak for any sender,
    # so only admins hold it.
    EMAIL_INGEST = "email:ingest"
    # The polled mailboxes (their passwords) and the email quarantine: admins only.
    MAILBOXES_MANAGE = "mailboxes:manage"
    # The Prometheus metrics (a scraper's token): for those who watch the service.
    METRICS_READ = "metrics:read"
    # The wallboard (/wallboard, its API and live room): for those who watch the queues.
    WALLBOARD_VIEW = "wallboard:view"
    # Agent tools: one's own macros; the shared macros; custom field definitions (admins).
    MACROS_WRITE = "macros:write"
    MACROS_MANAGE = "macros:manage"
    FIELDS_MANAGE = "fields:manage"
    # Post a PBX's call events (its token): they speak for any caller, so only admins hold it.
    CALLS_INGEST = "calls:ingest"
    # Automation rules (they act on every conversation): their pages, API and dry runs.
    AUTOMATION_MANAGE = "automation:manage"
    # The saved views shared with every agent (one's own need only conversations:read).
    VIEWS_MANAGE = "views:manage"
    # Business-hours calendars, SLA policies and the breaches recorded (page, API).
    SLA_MANAGE = "sla:manage"
    # Reports (/reports, their CSV exports and the events behind each number).
    REPORTS_VIEW = "reports:view"
    # Saved customer segments shared with everyone; customer imports from CSV.
    SEGMENTS_MANAGE = "segments:manage"
    CUSTOMERS_IMPORT = "customers:import"
    # A customer's data export and erasure (privacy requests); retention settings (admins).
    PRIVACY_MANAGE = "privacy:manage"
    RETENTION_MANAGE = "retention:manage"


P = Permission
_WORK = {P.CONVERSATIONS_READ, P.CONVERSATIONS_WRITE, P.CUSTOMERS_READ, P.CUSTOMERS_WRITE,
         P.QUEUES_READ, P.USERS_READ, P.KNOWLEDGE_READ, P.MACROS_WRITE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.SUPERVISOR: frozenset(_WORK | {P.CUSTOMERS_MERGE, P.QUEUES_MANAGE, P.AUDIT_READ,
                                        P.METRICS_READ, P.WALLBOARD_VIEW,
                                        P.MACROS_MANAGE, P.AUTOMATION_MANAGE,
                                        P.VIEWS_MANAGE, P.SLA_MANAGE, P.REPORTS_VIEW,
                                        P.SEGMENTS_MANAGE, P.CUSTOMERS_IMPORT,
                                        P.PRIVACY_MANAGE}),
    Role.AGENT: frozenset(_WORK),
    Role.KNOWLEDGE_MANAGER: frozenset({P.KNOWLEDGE_READ, P.KNOWLEDGE_MANAGE, P.USERS_READ}),
}


# Whatever their role, staff manage their own account's presence and tokens.
SELF_SERVICE = frozenset({P.ACCOUNT_MANAGE})


def allowed(role: Role, permission: Permission, scopes: list[str] | None = None, *,
            own_account: bool = False) -> bool:
    """True when the role grants the permission (or it is self-service on ``own_account``)
    and, for a token, a scope names it."""
    granted = permission in ROLE_PERMISSIONS[role] or (own_account and permission in SELF_SERVICE)
    return granted and (scopes is None or permission.value in scopes)
