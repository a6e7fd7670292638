"""The handoff packet (``Conversation.handoff``, written by ``bot.handoff``) as the page shows it.

The packet is stored JSON: every field is read defensively, so an older or partial packet
still renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class TriedArticle:
    title: str
    url: str | None  # None when the stored address is not a safe link
    version: int | None


@dataclass(frozen=True)
class PastConversation:
    id: int
    subject: str
    channel: str
    status: str
    created_at: datetime | None


@dataclass(frozen=True)
class Handoff:
    """What the agent sees first when the assistant hands a chat over."""

    reason: str
    agents_available: bool
    summary: str
    articles: list[TriedArticle]
    verified: bool
    identities: list[dict[str, Any]]
    history: list[PastConversation]
    reply_by_email: str | None


def read_handoff(packet: dict[str, Any] | None) -> Handoff | None:
    """The packet as a ``Handoff``; None when the conversation was never handed over."""
    if not packet:
        return None
    customer = _dict(packet.get("customer"))
    return Handoff(
        reason=str(packet.get("reason") or ""),
        agents_available=packet.get("agents_available") is not False,
        summary=str(packet.get("summary") or ""),
        articles=[_article(a) for a in _dicts(packet.get("articles_tried"))],
        verified=customer.get("verified") is True,
        identities=[i for i in _dicts(customer.get("identities")) if i.get("verified")],
        history=[p for p in map(_past, _dicts(packet.get("history"))) if p is not None],
        reply_by_email=str(packet["reply_by_email"]) if packet.get("reply_by_email") else None)


def safe_link(url: object) -> str | None:
    """``url`` when it is a same-site path or an http(s) address; never ``javascript:``."""
    if not isinstance(url, str) or not url:
        return None
    if url.startswith("/") and not url.startswith(("//", "/\\")):
        return url
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _article(data: dict[str, Any]) -> TriedArticle:
    version = data.get("version")
    return TriedArticle(title=str(data.get("title") or f"#{data.get('article_id', '?')}"),
                        url=safe_link(data.get("url")),
                        version=version if isinstance(version, int) else None)


def _past(data: dict[str, Any]) -> PastConversation | None:
    if not isinstance(data.get("id"), int):
        return None
    return PastConversation(id=data["id"], subject=str(data.get("subject") or ""),
                            channel=str(data.get("channel") or ""),
                            status=str(data.get("status") or ""),
                            created_at=_moment(data.get("created_at")))


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
