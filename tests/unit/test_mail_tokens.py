"""Conversation tokens for replies, Message-ID reading, and mailbox passwords at rest."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from helpdesk.mail.secrets import SecretUnreadable, decrypt_secret, encrypt_secret
from helpdesk.mail.threading import (
    carries_token,
    conversation_token,
    normalized_message_id,
    reply_address,
    subject_tag,
    without_tags,
)


def _context(secret_key: str):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret_key
    return app.app_context()


@pytest.fixture(autouse=True)
def app_secret():
    with _context("unit-test-secret"):
        yield


def test_a_token_is_the_id_and_a_signature_that_depends_on_the_secret():
    token = conversation_token(42)
    assert re.fullmatch(r"42-[a-z2-7]{10}", token)
    assert conversation_token(43).split("-")[1] != token.split("-")[1]
    with _context("another-secret"):
        assert conversation_token(42) != token


def test_reply_address_and_subject_tag_carry_the_token():
    token = conversation_token(7)
    assert reply_address("support+old@shop.example", 7) == f"support+{token}@shop.example"
    assert carries_token(reply_address("support@shop.example", 7).upper())
    assert not carries_token(f"support+7-{'a' * 10}@shop.example")
    assert subject_tag(7) == f"[#{token}]"
    assert without_tags(f"Re: Parcel {subject_tag(7)}") == "Re: Parcel"
    with pytest.raises(ValueError, match="not an email address"):
        reply_address("support", 7)


@pytest.mark.parametrize(("header", "expected"), [
    ("<abc@mail.example>", "abc@mail.example"),
    ("  <abc@mail.example> (a comment)", "abc@mail.example"),
    ("abc@mail.example", "abc@mail.example"),
    ("", None),
    (None, None),
    ("not an id", None),
    ("<" + "x" * 600 + "@mail.example>", None),
])
def test_message_ids_are_read_without_brackets(header, expected):
    assert normalized_message_id(header) == expected


def test_a_password_round_trips_and_is_not_stored_in_clear():
    stored = encrypt_secret("imap pässword")
    assert "imap" not in stored
    assert decrypt_secret(stored) == "imap pässword"


def test_a_changed_secret_key_makes_the_password_unreadable():
    stored = encrypt_secret("imap password")
    with _context("rotated-secret"), pytest.raises(SecretUnreadable, match="enter it again"):
        decrypt_secret(stored)
