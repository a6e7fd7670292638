"""Staff accounts and API tokens against a real database (SQLite and PostgreSQL)."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.models import ApiToken, AuditLog, Role, User
from helpdesk.orm import clock_at, utcnow
from helpdesk.services import staff
from tests.conftest import PASSWORD


def new_user(uow, email="ada@staff.example", password=PASSWORD, role=Role.AGENT, **profile):
    return staff.create_user(uow, SYSTEM, email=email, name="Ada", role=role, password=password,
                             **profile)


def test_create_user_keeps_a_lower_cased_email_and_only_a_password_hash(uow):
    user = new_user(uow, email=" Ada@Staff.Example ", role="supervisor",
                    capacity={"chat": 3}, skills=["billing"])
    stored = uow.session.get(User, user.id)
    assert (stored.email, stored.role, stored.capacity) == (
        "ada@staff.example", Role.SUPERVISOR, {"chat": 3})
    assert PASSWORD not in stored.password_hash
    assert stored.check_password(PASSWORD)


def test_the_creator_is_audited(uow):
    admin = new_user(uow, email="admin@staff.example", role=Role.ADMIN)
    agent = staff.create_user(uow, Actor("agent", admin.id), email="new@staff.example",
                              name="New", role=Role.AGENT, password=PASSWORD)
    [entry] = uow.session.scalars(select(AuditLog))
    assert (entry.user_id, entry.action, entry.target_id, entry.details) == (
        admin.id, "user.created", agent.id, {"email": "new@staff.example", "role": "agent"})


def test_duplicate_email_is_a_conflict_whatever_its_case(uow):
    new_user(uow)
    with pytest.raises(Conflict) as refused:
        new_user(uow, email="ADA@staff.example")
    assert refused.value.field == "email"


def test_create_user_refuses_bad_input_naming_the_field(uow):
    for kwargs, field in [({"password": "short"}, "password"),
                          ({"email": "ada-at-staff"}, "email"),
                          ({"role": "owner"}, "role"),
                          ({"capacity": {"chat": -1}}, "capacity"),
                          ({"favourite_colour": "blue"}, "favourite_colour")]:
        with pytest.raises(ValidationFailed) as refused:
            new_user(uow, **kwargs)
        assert refused.value.field == field, kwargs
    assert uow.session.scalars(select(User)).all() == []


def test_update_user_changes_role_and_password(uow):
    user = new_user(uow)
    staff.update_user(uow, SYSTEM, user.id, role="knowledge_manager", password="a new long one")
    assert user.role == Role.KNOWLEDGE_MANAGER
    assert staff.authenticate(uow.session, user.email, "a new long one") is not None
    with pytest.raises(ValidationFailed):
        staff.update_user(uow, SYSTEM, user.id, password="short")


def test_authenticate(uow):
    user = new_user(uow)
    assert staff.authenticate(uow.session, " ADA@staff.example", PASSWORD).id == user.id
    assert staff.authenticate(uow.session, user.email, PASSWORD + "!") is None
    assert staff.authenticate(uow.session, "nobody@staff.example", PASSWORD) is None
    staff.update_user(uow, SYSTEM, user.id, active=False)
    assert staff.authenticate(uow.session, user.email, PASSWORD) is None


def test_issue_token_returns_the_secret_once_and_stores_only_its_hash(uow):
    user = new_user(uow)
    token, secret = staff.issue_token(uow, SYSTEM, user.id, name="CRM",
                                      scopes=["customers:read", "customers:read",
                                              "conversations:read"])
    stored = uow.session.get(ApiToken, token.id)
    assert stored.token_hash == staff.hash_token(secret)
    assert secret.startswith(staff.TOKEN_PREFIX) and secret.startswith(stored.prefix)
    assert all(secret not in str(getattr(stored, column.key))
               for column in ApiToken.__table__.columns)
    assert stored.scopes == ["conversations:read", "customers:read"]
    assert staff.token_owner(uow.session, secret).id == token.id


def test_token_use_is_stamped_at_most_once_per_resolution(uow):
    token, _secret = staff.issue_token(uow, SYSTEM, new_user(uow).id, name="CRM",
                                       scopes=["customers:read"])
    start = utcnow()
    stamps = []
    for minutes in (0, 1, 6):
        with clock_at(start + timedelta(minutes=minutes)):
            staff.note_token_use(uow, token.id)
        uow.session.expire_all()
        stamps.append(uow.session.get(ApiToken, token.id).last_used_at)
    assert stamps == [start, start, start + timedelta(minutes=6)]


def test_issue_token_validates_scopes_and_expiry(uow):
    user = new_user(uow)
    for kwargs, field in [
        ({"scopes": ["conversations:read", "everything"]}, "scopes"),
        ({"scopes": [], "expires_at": utcnow() - timedelta(minutes=1)}, "expires_at"),
        ({"scopes": [], "expires_at": utcnow().replace(tzinfo=None) + timedelta(days=1)},
         "expires_at"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            staff.issue_token(uow, SYSTEM, user.id, name="t", **kwargs)
        assert refused.value.field == field, kwargs


def test_issue_token_for_an_unknown_user_is_not_found(uow):
    with pytest.raises(NotFound) as missing:
        staff.issue_token(uow, SYSTEM, 4040, name="t", scopes=[])
    assert missing.value.field == "user_id"


def test_token_owner_refuses_revoked_expired_inactive_and_unknown(uow):
    user = new_user(uow)
    secrets = {}
    for name in ("revoked", "expired", "live"):
        token, secrets[name] = staff.issue_token(uow, SYSTEM, user.id, name=name, scopes=[],
                                                 expires_at=utcnow() + timedelta(days=1))
        if name == "revoked":
            staff.revoke_token(uow, SYSTEM, user.id, token.id)
    uow.session.execute(update(ApiToken).where(ApiToken.name == "expired")
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    uow.session.commit()
    assert staff.token_owner(uow.session, secrets["revoked"]) is None
    assert staff.token_owner(uow.session, secrets["expired"]) is None
    assert staff.token_owner(uow.session, secrets["live"] + "x") is None
    assert staff.token_owner(uow.session, secrets["live"]).user_id == user.id
    staff.update_user(uow, SYSTEM, user.id, active=False)
    assert staff.token_owner(uow.session, secrets["live"]) is None
