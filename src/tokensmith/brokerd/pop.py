"""The broker's proof-of-possession key and the signed HTTP requests it makes.

A signed HTTP request (SHR) is built by :func:`tokensmith.protocol.shr.sign_http_request`
(the Microsoft profile of draft-ietf-oauth-signed-http-request-03: header ``typ: "pop"``,
``alg``, ``kid``; claims ``at``, ``ts``, ``m``, ``u``, ``p``, ``nonce``, ``cnf.jwk``). The
key is the broker's own ES256 key, kept in its vault; apps never see it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokensmith.broker.base import PopParams
from tokensmith.protocol.dpop import DPoPKey
from tokensmith.protocol.shr import sign_http_request

if TYPE_CHECKING:
    from tokensmith.brokerd.vault import Vault

__all__ = ["PopKey"]

_KEY_NAME = "pop-key"


class PopKey:
    """The broker's signing key (made once, kept in the vault)."""

    def __init__(self, key: DPoPKey) -> None:
        self._key = key
        self.jwk = key.jwk
        self.kid = key.jkt

    @classmethod
    def load(cls, vault: Vault) -> PopKey:
        """The vault's key, made and stored on first use."""
        pem = vault.read(_KEY_NAME)
        if pem is None:
            key = DPoPKey.generate("ES256")
            vault.write(_KEY_NAME, key.private_pem().encode("ascii"))
            return cls(key)
        return cls(DPoPKey.from_pem(pem))

    def sign(self, pop: PopParams, now: float, access_token: str) -> str:
        """An SHR for ``pop`` at ``now`` wrapping ``access_token``."""
        return sign_http_request(
            self._key,
            access_token,
            method=pop.http_method,
            url=f"https://{pop.host}{pop.path}",
            nonce=pop.nonce or None,
            now=now,
        )

    def __repr__(self) -> str:
        return f"PopKey(kid={self.kid!r})"
