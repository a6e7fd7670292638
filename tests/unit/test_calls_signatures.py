"""Signed call events: HMAC-SHA256 over ``<timestamp>.<body>``, fresh timestamps only."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from helpdesk.signatures import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    BadSignature,
    sign,
    signed_headers,
    verify,
)

SECRET, NOW, BODY = "s3cret", 1_800_000_000, b'{"call_id": "c-1"}'


def check(headers, body=BODY, now=NOW):
    verify(SECRET, headers, body, now=now, max_age=300)


def test_the_signature_is_the_documented_hmac():
    expected = hmac.new(b"s3cret", b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == f"sha256={expected}"


def test_a_good_signature_passes_within_the_allowed_age():
    check(signed_headers(SECRET, NOW, BODY))
    check(signed_headers(SECRET, NOW - 300, BODY))
    check(signed_headers(SECRET, NOW + 300, BODY))  # the sender's clock a little ahead


@pytest.mark.parametrize(("headers", "problem"), [
    ({}, f"{TIMESTAMP_HEADER} is missing"),
    ({TIMESTAMP_HEADER: str(NOW)}, f"{SIGNATURE_HEADER} is missing"),
    ({TIMESTAMP_HEADER: "yesterday", SIGNATURE_HEADER: "sha256=00"}, "Unix time"),
    ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "sha256=00"}, "does not match"),
    (signed_headers("another secret", NOW, BODY), "does not match"),
])
def test_a_missing_or_wrong_signature_is_refused(headers, problem):
    with pytest.raises(BadSignature, match=problem):
        check(headers)


def test_the_body_cannot_be_changed_under_a_signature():
    with pytest.raises(BadSignature, match="does not match"):
        check(signed_headers(SECRET, NOW, BODY), body=BODY.replace(b"c-1", b"c-2"))


def test_a_replay_after_the_allowed_age_is_refused():
    captured = signed_headers(SECRET, NOW, BODY)
    with pytest.raises(BadSignature, match=r"301 s away .* a replay"):
        check(captured, now=NOW + 301)


def test_the_timestamp_cannot_be_moved_forward_without_the_secret():
    captured = signed_headers(SECRET, NOW, BODY)
    with pytest.raises(BadSignature, match="does not match"):
        check({**captured, TIMESTAMP_HEADER: str(NOW + 3600)}, now=NOW + 3600)
