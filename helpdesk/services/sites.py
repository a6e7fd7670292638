"""Sites that embed the chat: creation, lookup, identity verification, allowed origins."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk import events
from helpdesk.errors import ValidationFailed
from helpdesk.events import Actor
from helpdesk.models import Queue, Site
from helpdesk.models.site import PRECHAT_FIELDS, new_site_secret
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork


def create_site(uow: UnitOfWork, actor: Actor, *, name: str, queue_id: int | None = None,
                language: str = "en", allowed_origins: Sequence[str] = (),
                prechat: Sequence[str] = (), bot_enabled: bool = True) -> Site:
    """A new site with a fresh key and secret."""
    if not name.strip():
        raise ValidationFailed("a site needs a name", field="name")
    if queue_id is not None:
        get_or_404(uow.session, Queue, queue_id, field="queue_id")
    site = Site(name=name.strip(), queue_id=queue_id, language=language,
                allowed_origins=[_origin(o) for o in allowed_origins],
                prechat=_prechat(prechat), bot_enabled=bot_enabled)
    uow.session.add(site)
    uow.session.flush()
    _audit(uow, actor, site, "site.created")
    uow.commit()
    return site


def rotate_secret(uow: UnitOfWork, actor: Actor, site_id: int) -> Site:
    """A new secret: user hashes signed with the old one stop verifying at once."""
    site = get_or_404(uow.session, Site, site_id)
    site.secret = new_site_secret()
    _audit(uow, actor, site, "site.secret_rotated")
    uow.commit()
    return site


def site_by_key(session: Session, key: object) -> Site | None:
    if not isinstance(key, str) or not key or len(key) > 64:
        return None
    return session.scalar(select(Site).where(Site.key == key))


def user_hash(secret: str, user_id: str) -> str:
    """What the site's server computes: hex HMAC-SHA256(site secret, user id)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def verify_user(site: Site, user_id: str, claimed_hash: str) -> bool:
    return hmac.compare_digest(user_hash(site.secret, user_id), claimed_hash.lower())


def origin_allowed(site: Site, origin: str | None) -> bool:
    """Any origin when the site lists none; otherwise the page's origin must be listed."""
    return not site.allowed_origins or (origin or "").rstrip("/") in site.allowed_origins


def _origin(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationFailed(f"{value!r} is not an origin like https://shop.example",
                               field="allowed_origins")
    return f"{parts.scheme}://{parts.netloc}"


def _prechat(fields: Sequence[str]) -> list[str]:
    unknown = sorted(set(fields) - set(PRECHAT_FIELDS))
    if unknown:
        raise ValidationFailed(f"unknown pre-chat fields {unknown}; known: {PRECHAT_FIELDS}",
                               field="prechat")
    return [f for f in PRECHAT_FIELDS if f in fields]


def _audit(uow: UnitOfWork, actor: Actor, site: Site, action: str) -> None:
    uow.record(events.StaffChanged(actor=actor, action=action, target_type="site",
                                   target_id=site.id, details={"name": site.name}))
