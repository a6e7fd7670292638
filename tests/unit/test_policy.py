"""The role-by-permission table and how API token scopes narrow it."""

import pytest

from helpdesk.auth.policy import ROLE_PERMISSIONS, Permission, allowed
from helpdesk.models import Role

P = Permission


def test_every_role_has_an_entry_and_admin_may_do_everything():
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)


def test_roles_widen_from_agent_to_supervisor_to_admin():
    agent, supervisor, admin = (ROLE_PERMISSIONS[r] for r in
                                (Role.AGENT, Role.SUPERVISOR, Role.ADMIN))
    assert agent < supervisor < admin


@pytest.mark.parametrize(("role", "permission"), [
    (Role.KNOWLEDGE_MANAGER, P.CONVERSATIONS_READ),
    (Role.KNOWLEDGE_MANAGER, P.CONVERSATIONS_WRITE),
    (Role.KNOWLEDGE_MANAGER, P.CUSTOMERS_READ),
    (Role.AGENT, P.USERS_MANAGE),
    (Role.AGENT, P.QUEUES_MANAGE),
    (Role.AGENT, P.CUSTOMERS_MERGE),
    (Role.AGENT, P.AUDIT_READ),
    (Role.AGENT, P.KNOWLEDGE_MANAGE),
    (Role.SUPERVISOR, P.USERS_MANAGE),
])
def test_role_is_refused(role, permission):
    assert not allowed(role, permission)


@pytest.mark.parametrize(("role", "permission"), [
    (Role.AGENT, P.CONVERSATIONS_WRITE),
    (Role.AGENT, P.CUSTOMERS_WRITE),
    (Role.AGENT, P.KNOWLEDGE_READ),
    (Role.SUPERVISOR, P.CUSTOMERS_MERGE),
    (Role.SUPERVISOR, P.QUEUES_MANAGE),
    (Role.SUPERVISOR, P.AUDIT_READ),
    (Role.KNOWLEDGE_MANAGER, P.KNOWLEDGE_MANAGE),
    (Role.ADMIN, P.USERS_MANAGE),
])
def test_role_is_granted(role, permission):
    assert allowed(role, permission)


def test_token_scopes_narrow_the_role():
    scopes = [P.CONVERSATIONS_READ.value]
    assert allowed(Role.AGENT, P.CONVERSATIONS_READ, scopes)
    assert not allowed(Role.AGENT, P.CONVERSATIONS_WRITE, scopes)


def test_a_scope_never_widens_the_role():
    assert not allowed(Role.AGENT, P.USERS_MANAGE, [P.USERS_MANAGE.value])


def test_a_token_without_scopes_may_do_nothing():
    assert not any(allowed(Role.ADMIN, p, []) for p in Permission)
