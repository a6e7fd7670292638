"""Signed webhooks: HMAC-SHA256 over ``<timestamp>.<raw body>`` with a shared secret.

The sender puts the Unix time in ``X-Comptoir-Timestamp`` and ``sha256=<hex digest>`` in
``X-Comptoir-Signature``. A signature older (or newer) than the allowed age is refused, so
a captured request cannot be replayed later; within that window a replay is a duplicate,
which the receiving endpoint must treat as such (call events are idempotent).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from helpdesk.errors import DomainError

TIMESTAMP_HEADER = "X-Comptoir-Timestamp"
SIGNATURE_HEADER = "X-Comptoir-Signature"
PREFIX = "sha256="
UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class BadSignature(DomainError):
    code = "bad_signature"
    status = 401


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Comptoir-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return PREFIX + mac.hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The two headers a sender adds."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float,
           max_age: int) -> None:
    """Raise BadSignature unless ``headers`` sign ``body`` with ``secret``, ``max_age``
    seconds around ``now`` at most."""
    timestamp = _timestamp(headers.get(TIMESTAMP_HEADER))
    drift = abs(now - timestamp)
    if drift > max_age:
        raise BadSignature(f"{TIMESTAMP_HEADER} is {drift:.0f} s away from the server's clock "
                           f"(at most {max_age} s): a replay, or a clock to set right")
    given = headers.get(SIGNATURE_HEADER)
    if not given:
        raise BadSignature(f"{SIGNATURE_HEADER} is missing: this server requires signed "
                           "requests")
    # compare_digest takes as long whatever the first differing byte: no timing oracle.
    if not hmac.compare_digest(given.strip().encode(), sign(secret, timestamp, body).encode()):
        raise BadSignature(f"{SIGNATURE_HEADER} does not match: expected {PREFIX}<hex "
                           f"HMAC-SHA256 of '<timestamp>.<raw body>' with the shared secret>")


def _timestamp(value: str | None) -> int:
    if not value:
        raise BadSignature(f"{TIMESTAMP_HEADER} is missing: this server requires signed "
                           "requests")
    if not UNIX_SECONDS.fullmatch(value.strip()):
        raise BadSignature(f"{TIMESTAMP_HEADER} must be a Unix time in whole seconds, "
                           f"got {value[:40]!r}")
    return int(value)
