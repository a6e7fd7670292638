"""Staff accounts, presence, and personal API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk import events
from helpdesk.auth.policy import Permission
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import SYSTEM, Actor
from helpdesk.models import ApiToken, Presence, PresenceChange, Role, User
from helpdesk.orm import utcnow
from helpdesk.services import routing
from helpdesk.services.common import checked_enum, get_or_404
from helpdesk.services.customers import EMAIL_RE
from helpdesk.uow import UnitOfWork

TOKEN_PREFIX = "cpt_"  # noqa: S105  (a public marker, not a secret)
MIN_PASSWORD = 10
TOKEN_USE_RESOLUTION = timedelta(minutes=5)
ACTIVITY_RESOLUTION = timedelta(minutes=1)
USER_FIELDS = ("name", "role", "locale", "capacity", "skills", "active")


def create_user(uow: UnitOfWork, actor: Actor, *, email: str, name: str, role: Role,
                password: str, **profile: Any) -> User:
    """Create a staff account; the email is unique, the password at least 10 characters."""
    email = _checked_email(email)
    role = checked_enum(Role, role, "role")
    if uow.session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"a user with email {email} exists", field="email")
    user = User(email=email, name=name.strip() or email, role=role)
    _check_password(password)
    user.set_password(password)
    _apply_profile(user, profile)
    uow.session.add(user)
    uow.session.flush()
    _audit(uow, actor, "user.created", user.id, {"email": email, "role": role.value})
    uow.commit()
    return user


def update_user(uow: UnitOfWork, actor: Actor, user_id: int, *, password: str | None = None,
                **changes: Any) -> User:
    user = get_or_404(uow.session, User, user_id)
    _apply_profile(user, changes)
    if password is not None:
        _check_password(password)
        user.set_password(password)
    details = {k: (v.value if isinstance(v, Role) else v) for k, v in changes.items()}
    _audit(uow, actor, "user.updated", user.id,
           details | ({"password": "changed"} if password else {}))
    uow.commit()
    return user


def set_presence(uow: UnitOfWork, actor: Actor, user_id: int, presence: Presence) -> User:
    """Go online, away or offline; going offline gives back the chats not answered yet
    (routing gives them to someone else after the commit)."""
    with uow.one_transaction():
        # The lock orders this with routing, which checks presence under the same lock.
        user = get_or_404(uow.session, User, user_id, lock=True)
        old, user.presence = user.presence, checked_enum(Presence, presence, "presence")
        user.last_seen_at = utcnow()
        if old != user.presence:
            _presence_changed(uow, actor, user.id, old, user.presence)
        if user.presence == Presence.OFFLINE and old != Presence.OFFLINE:
            routing.release_unanswered_chats(uow, user.id)
    return user


def auto_away(uow: UnitOfWork, now: datetime, idle_seconds: float) -> list[int]:
    """Set away the online staff not seen for ``idle_seconds``; their ids."""
    cutoff = now - timedelta(seconds=idle_seconds)
    idle = list(uow.session.scalars(
        update(User).where(User.presence == Presence.ONLINE,
                           or_(User.last_seen_at.is_(None), User.last_seen_at < cutoff))
        .values(presence=Presence.AWAY).returning(User.id)
        .execution_options(synchronize_session=False)))
    for user_id in idle:
        _presence_changed(uow, SYSTEM, user_id, Presence.ONLINE, Presence.AWAY, automatic=True)
    uow.commit()
    return idle


def _presence_changed(uow: UnitOfWork, actor: Actor, user_id: int, old: Presence,
                      new: Presence, *, automatic: bool = False) -> None:
    """Keep the change in the presence history (the reports' time online) and record it."""
    uow.session.add(PresenceChange(user_id=user_id, presence=new, automatic=automatic,
                                   changed_at=utcnow()))
    uow.record(events.PresenceChanged(actor=actor, user_id=user_id, old=old.value,
                                      new=new.value, automatic=automatic))


def seen_recently(user: User, now: datetime) -> bool:
    """Whether ``last_seen_at`` is within ACTIVITY_RESOLUTION (no stamp is worth a write)."""
    return user.last_seen_at is not None and now - user.last_seen_at < ACTIVITY_RESOLUTION


def note_activity(uow: UnitOfWork, user_id: int, now: datetime) -> None:
    """Stamp ``last_seen_at``, which auto-away reads."""
    uow.session.execute(update(User).where(User.id == user_id).values(last_seen_at=now))
    uow.commit()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for every failure)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        # Hash anyway, so the response time does not tell which emails have an account.
        check_password_hash(_unknown_user_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def issue_token(uow: UnitOfWork, actor: Actor, user_id: int, *, name: str,
                scopes: list[str], expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token; the secret is returned once and only its hash is kept."""
    user = get_or_404(uow.session, User, user_id)
    unknown = sorted(set(scopes) - {p.value for p in Permission})
    if unknown:
        raise ValidationFailed(f"unknown scope(s): {', '.join(unknown)}", field="scopes")
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= utcnow()):
        raise ValidationFailed("expires_at must be a future time with a time zone",
                               field="expires_at")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip() or "token", prefix=secret[:12],
                     token_hash=hash_token(secret), scopes=sorted(set(scopes)),
                     expires_at=expires_at)
    uow.session.add(token)
    uow.session.flush()
    _audit(uow, actor, "token.issued", token.id, {"user_id": user.id, "scopes": token.scopes},
           target_type="api_token")
    uow.commit()
    return token, secret


def revoke_token(uow: UnitOfWork, actor: Actor, user_id: int, token_id: int) -> None:
    """Revoke one of the user's tokens (another user's token id is not found)."""
    token = get_or_404(uow.session, ApiToken, token_id)
    if token.user_id != user_id:
        raise NotFound(f"user {user_id} has no token {token_id}", field="token_id")
    token.revoked_at = token.revoked_at or utcnow()
    _audit(uow, actor, "token.revoked", token.id, {}, target_type="api_token")
    uow.commit()


def token_owner(session: Session, secret: str) -> ApiToken | None:
    """The live token for this secret (not revoked, not expired), or None."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    now = utcnow()
    if token is None or token.revoked_at or (token.expires_at and token.expires_at <= now):
        return None
    if not token.user.active:
        return None
    return token


def note_token_use(uow: UnitOfWork, token_id: int) -> None:
    """Stamp ``last_used_at``, at most once per TOKEN_USE_RESOLUTION (no write per request)."""
    token = get_or_404(uow.session, ApiToken, token_id)
    if token_use_is_stale(token):
        token.last_used_at = utcnow()
        uow.commit()


def token_use_is_stale(token: ApiToken) -> bool:
    """Whether ``last_used_at`` is older than TOKEN_USE_RESOLUTION (so worth a write)."""
    return token.last_used_at is None or utcnow() - token.last_used_at >= TOKEN_USE_RESOLUTION


@cache
def _unknown_user_hash() -> str:
    return generate_password_hash(secrets.token_hex(16), method="scrypt")


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _apply_profile(user: User, profile: dict[str, Any]) -> None:
    unknown = set(profile) - set(USER_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown user field(s): {', '.join(sorted(unknown))}",
                               field=sorted(unknown)[0])
    if "role" in profile:
        profile["role"] = checked_enum(Role, profile["role"], "role")
    capacity = profile.get("capacity", {})
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in capacity.values()):
        raise ValidationFailed("capacity values are whole numbers ≥ 0", field="capacity")
    for key, value in profile.items():
        setattr(user, key, value)


def _checked_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise ValidationFailed(f"{email!r} is not an email address", field="email")
    return email


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"password must have at least {MIN_PASSWORD} characters",
                               field="password")


def _audit(uow: UnitOfWork, actor: Actor, action: str, target_id: int,
           details: dict[str, Any], target_type: str = "user") -> None:
    uow.record(events.StaffChanged(actor=actor, action=action, target_type=target_type,
                                   target_id=target_id, details=details))
