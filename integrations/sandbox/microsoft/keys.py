"""The RSA key the sandbox's Microsoft identity platform signs id_tokens and access tokens with.

Published as a JWKS at ``/{tenant}/discovery/v2.0/keys`` in Microsoft's shape (kid, x5t, n, e,
x5c, issuer). The key persists with the state so a restarted demo's tokens still verify.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class SigningKey:
    def __init__(self, private_pem: bytes, cert_pem: bytes) -> None:
        self.private_pem = private_pem
        self.cert_pem = cert_pem
        self._private_key = serialization.load_pem_private_key(private_pem, password=None)
        cert = x509.load_pem_x509_certificate(cert_pem)
        der = cert.public_bytes(serialization.Encoding.DER)
        # Entra uses the certificate's SHA-1 thumbprint as both kid and x5t.
        self.kid = _b64url(hashlib.sha1(der, usedforsecurity=False).digest())
        self._x5c = base64.b64encode(der).decode("ascii")
        public = cert.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        numbers = public.public_numbers()
        self._n = _int_b64url(numbers.n)
        self._e = _int_b64url(numbers.e)

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, "accounts.accesscontrol.windows.net")]
        )
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls(private_pem, cert.public_bytes(serialization.Encoding.PEM))

    def jwk(self, issuer: str) -> dict[str, Any]:
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": self._n,
            "e": self._e,
            "x5c": [self._x5c],
            "issuer": issuer,
        }

    def sign(self, claims: dict[str, Any]) -> str:
        headers = {"typ": "JWT", "kid": self.kid, "x5t": self.kid}
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers=headers)  # type: ignore[arg-type]

    def public_key(self) -> Any:
        return self._private_key.public_key()

    def to_dict(self) -> dict[str, str]:
        return {"private_pem": self.private_pem.decode(), "cert_pem": self.cert_pem.decode()}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> SigningKey:
        return cls(data["private_pem"].encode(), data["cert_pem"].encode())
