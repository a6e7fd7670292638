"""Secrets Comptoir must read back (mailbox passwords), encrypted with the app's secret key.

Fernet (AES-CBC with an HMAC), keyed by HKDF over ``SECRET_KEY``: a stolen database alone
does not reveal them. Changing the secret key makes them unreadable: enter them again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from helpdesk.errors import Conflict

PURPOSE = b"comptoir mailbox passwords"


class SecretUnreadable(Conflict):
    code = "secret_unreadable"


def encrypt_secret(plain: str) -> str:
    """The text to store for ``plain``."""
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt_secret(stored: str) -> str:
    """The plain text of a stored secret; SecretUnreadable when the key changed since."""
    try:
        return _fernet().decrypt(stored.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise SecretUnreadable("the stored password cannot be decrypted (was the secret key "
                               "changed?): enter it again") from None


def _fernet() -> Fernet:
    secret_key = current_app.config["SECRET_KEY"].encode("utf-8")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret_key)
    return Fernet(base64.urlsafe_b64encode(key))
