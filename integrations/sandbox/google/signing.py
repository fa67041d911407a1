"""The sandbox's Google signing key: RS256 id_tokens and Pub/Sub push JWTs, published as JWKS.

Google signs id_tokens and push-subscription OIDC tokens with rotating RSA keys served at
``/oauth2/v3/certs``; clients (``google.oauth2.id_token.verify_token(..., certs_url=...)``) pick
the key by ``kid``. The sandbox has one key per state, generated on first use and persisted so
tokens issued before a restart still verify.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _b64_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class SigningKey:
    def __init__(self, pem: bytes | None = None) -> None:
        self._pem = pem
        self._key: rsa.RSAPrivateKey | None = None
        self._kid = ""

    def _load(self) -> rsa.RSAPrivateKey:
        # Generating a 2048-bit key costs ~100 ms, so it happens on first signature, not on boot.
        if self._key is None:
            if self._pem is None:
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                self._pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            loaded = serialization.load_pem_private_key(self._pem, password=None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            self._key = loaded
            numbers = loaded.public_key().public_numbers()
            self._kid = hashlib.sha1(f"{numbers.n}:{numbers.e}".encode()).hexdigest()  # noqa: S324
        return self._key

    @property
    def kid(self) -> str:
        self._load()
        return self._kid

    def sign(self, claims: dict[str, Any]) -> str:
        key = self._load()
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self._kid, "typ": "JWT"})

    def jwks(self) -> dict[str, Any]:
        numbers = self._load().public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "kid": self._kid,
                    "n": _b64_uint(numbers.n),
                    "e": _b64_uint(numbers.e),
                }
            ]
        }

    def to_pem(self) -> str:
        self._load()
        assert self._pem is not None
        return self._pem.decode("ascii")
