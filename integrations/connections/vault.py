"""The token vault: provider tokens are encrypted at rest with MultiFernet.

Keys come from ``ENCRYPTION_KEYS`` (comma-separated Fernet keys, newest first): encryption uses
the first, decryption tries each, and ``manage.py rotate_encryption_keys`` re-encrypts
everything under the newest. Without the variable, development derives one key from
SECRET_KEY; production refuses to start without it (see settings).
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class VaultError(RuntimeError):
    """A stored secret could not be decrypted with any configured key."""


def _derived_key() -> bytes:
    digest = hashlib.sha256(f"liaison-vault:{settings.SECRET_KEY}".encode()).digest()
    return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    material = [k.encode() for k in keys] or [_derived_key()]
    return MultiFernet([Fernet(k) for k in material])


def vault() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return vault().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(ciphertext: str) -> str:
    if not ciphertext:
        return ""
    try:
        return vault().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise VaultError("A stored token could not be decrypted with the configured keys.") from exc


def rotate(ciphertext: str) -> str:
    """The same secret, encrypted under the newest key."""
    if not ciphertext:
        return ""
    try:
        return vault().rotate(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise VaultError("A stored token could not be decrypted with the configured keys.") from exc
