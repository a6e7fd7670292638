"""Integration fixtures: a private Dovecot IMAP server for the session (tests/dovecot.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dovecot import Account, PrivateDovecot, running_dovecot


@pytest.fixture(scope="session")
def dovecot() -> Iterator[PrivateDovecot]:
    yield from running_dovecot()


@pytest.fixture
def account(dovecot: PrivateDovecot) -> Account:
    """An empty IMAP account of the test's own."""
    return dovecot.new_account()
