"""``httpx.Auth`` for DPoP-bound tokens (RFC 9449 §7), for ``httpx.Client`` and
``httpx.AsyncClient`` alike (the flow does no I/O of its own)."""

from __future__ import annotations

from collections.abc import Generator

import httpx

from tokensmith.dpop._present import Signing

__all__ = ["DPoPAuth"]


class DPoPAuth(Signing, httpx.Auth):
    """Adds ``Authorization: DPoP <token>`` and a fresh proof with ``ath`` to every
    request; a ``401`` ``use_dpop_nonce`` challenge is retried once with the nonce.

    Takes ``(key, token, *, nonces=None, clock=time.time)``: the key the token is
    bound to (``app.dpop_key``), the token or a callable returning it or a token result,
    the resource nonces to share, and the clock of the proofs' ``iat``.

    Example:
        ``auth = DPoPAuth(app.dpop_key, lambda: app.acquire_token_for_client(scopes))``,
        then ``httpx.get(url, auth=auth)``.
    """

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._presenter.access_token()
        url = str(request.url)
        request.headers.update(self._presenter.headers(request.method, url, token))
        response = yield request
        if self._presenter.retry_after(url, response.status_code, response.headers):
            request.headers.update(self._presenter.headers(request.method, url, token))
            yield request
