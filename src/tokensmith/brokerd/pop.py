"""The broker's proof-of-possession key and the signed HTTP requests it makes.

A signed HTTP request (SHR) is a JWS over the request it authorises, the Microsoft
profile of draft-ietf-oauth-signed-http-request-03 §3 (reference/broker-pop.md §3.2):
header ``typ: "pop"``, ``alg``, ``kid`` (the key's RFC 7638 thumbprint); claims ``at``
(the access token, when there is one), ``ts``, ``m``, ``u`` (host[:port]), ``p``,
``nonce`` and ``cnf: {"jwk": ...}``. The key is the broker's, kept in its vault; apps
never see it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokensmith.broker.base import PopParams
from tokensmith.protocol.jwk import public_jwk, thumbprint
from tokensmith.protocol.jws import sign_compact

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

    from tokensmith.brokerd.vault import Vault

__all__ = ["PopKey"]

_KEY_NAME = "pop-key"


class PopKey:
    """The broker's ES256 signing key (made once, kept in the vault)."""

    def __init__(self, key: EllipticCurvePrivateKey) -> None:
        self._key = key
        self.jwk = public_jwk(key)
        self.kid = thumbprint(self.jwk)

    @classmethod
    def load(cls, vault: Vault) -> PopKey:
        """The vault's key, made and stored on first use."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        pem = vault.read(_KEY_NAME)
        if pem is None:
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            vault.write(_KEY_NAME, pem)
        loaded = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError("the broker's PoP key is not an EC key")
        return cls(loaded)

    def sign(self, pop: PopParams, now: float, access_token: str | None) -> str:
        """An SHR for ``pop`` at ``now``, wrapping ``access_token`` when given."""
        claims: dict[str, Any] = {
            "ts": int(now),
            "m": pop.http_method,
            "u": pop.host,
            "p": pop.path,
            "cnf": {"jwk": self.jwk},
        }
        if pop.nonce:
            claims["nonce"] = pop.nonce
        if access_token:
            claims["at"] = access_token
        return sign_compact({"typ": "pop", "kid": self.kid}, claims, self._key, "ES256")

    def __repr__(self) -> str:
        return f"PopKey(kid={self.kid!r})"
