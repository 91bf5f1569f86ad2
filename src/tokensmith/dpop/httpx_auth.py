"""``httpx.Auth`` for DPoP-bound tokens (RFC 9449 §7), for ``httpx.Client`` and
``httpx.AsyncClient`` alike (the flow does no I/O of its own)."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator

import httpx

from tokensmith.dpop._present import Presenter, TokenSource
from tokensmith.protocol.dpop import DPoPKey, NonceStore

__all__ = ["DPoPAuth"]


class DPoPAuth(httpx.Auth):
    """Adds ``Authorization: DPoP <token>`` and a fresh proof with ``ath`` to every
    request; a ``401`` ``use_dpop_nonce`` challenge is retried once with the nonce.

    Example:
        ``auth = DPoPAuth(app.dpop_key, lambda: app.acquire_token_for_client(scopes))``,
        then ``httpx.get(url, auth=auth)``.
    """

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

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._presenter.access_token()
        url = str(request.url)
        request.headers.update(self._presenter.headers(request.method, url, token))
        response = yield request
        if self._presenter.retry_after(url, response.status_code, response.headers):
            request.headers.update(self._presenter.headers(request.method, url, token))
            yield request
