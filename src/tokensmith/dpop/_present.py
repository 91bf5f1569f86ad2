"""What both resource-call adapters share (no I/O): the token to present, the two
headers of one request, and whether a 401 asks for a retry with a new nonce."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith.errors import ConfigurationError
from tokensmith.protocol.dpop import DPoPKey, NonceStore
from tokensmith.protocol.dpop_client import resource_wants_nonce

__all__ = ["Presenter", "Signing", "TokenSource"]

TokenSource = str | Callable[[], Any]
"""An access token, or a callable returning one (a string, or a token result dict
whose ``token_type`` is ``DPoP``, such as an application's ``acquire_token_*``)."""


class Presenter:
    """Signs resource requests for one key and token source."""

    def __init__(
        self,
        key: DPoPKey,
        token: TokenSource,
        *,
        nonces: NonceStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(key, DPoPKey):
            raise ConfigurationError("key must be a tokensmith DPoPKey (an app's dpop_key)")
        if not (isinstance(token, str) and token) and not callable(token):
            raise ConfigurationError("token must be a non-empty string or a callable")
        self.key = key
        self._token = token
        self.nonces = nonces if nonces is not None else NonceStore()
        self._clock = clock

    def access_token(self) -> str:
        """The token to present now.

        Raises:
            ValueError: the source gave an error result, a Bearer token or no token.
        """
        value = self._token if isinstance(self._token, str) else self._token()
        if isinstance(value, Mapping):
            if "access_token" not in value:
                error = value.get("error", "no access_token")
                raise ConfigurationError(f"the token source gave no token ({error})")
            token_type = str(value.get("token_type", "Bearer"))
            if token_type.lower() != "dpop":
                raise ConfigurationError(
                    f"the token is not DPoP-bound (token_type {token_type[:20]!r})"
                )
            value = value["access_token"]
        if not isinstance(value, str) or not value:
            raise ConfigurationError("the token source gave no access token string")
        return value

    def headers(self, method: str, url: str, token: str) -> dict[str, str]:
        """``Authorization`` and ``DPoP`` for one request (RFC 9449 §7.1)."""
        proof = self.key.proof(
            method, url, now=self._clock(), nonce=self.nonces.get(url), access_token=token
        )
        return {"Authorization": f"DPoP {token}", "DPoP": proof}

    def retry_after(self, url: str, status_code: int, headers: Mapping[str, str]) -> bool:
        """Keep the response's nonce; True when it is a ``use_dpop_nonce`` challenge
        that brought a nonce other than the one just used (RFC 9449 §9)."""
        used = self.nonces.get(url)
        self.nonces.update(url, headers)
        fresh = self.nonces.get(url)
        return resource_wants_nonce(status_code, headers) and fresh not in (None, used)


class Signing:
    """The constructor both auth classes share."""

    def __init__(
        self,
        key: DPoPKey,
        token: TokenSource,
        *,
        nonces: NonceStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Args:
        key: the key the token is bound to (``app.dpop_key``).
        token: the token, or a callable returning it or a token result.
        nonces: the resource nonces (share one between auth objects of one app).
        clock: epoch seconds (the proofs' ``iat``).

        Raises:
            ValueError: not a DPoPKey, or no usable token source.
        """
        self._presenter = Presenter(key, token, nonces=nonces, clock=clock)
