"""A ``requests`` auth class for DPoP-bound tokens (RFC 9449 §7)."""

from __future__ import annotations

from typing import Any

import requests
from requests.auth import AuthBase

from tokensmith.dpop._present import Signing

__all__ = ["DPoPRequestsAuth"]


class DPoPRequestsAuth(Signing, AuthBase):
    """Adds ``Authorization: DPoP <token>`` and a fresh proof with ``ath``; a ``401``
    ``use_dpop_nonce`` challenge is retried once (the first answer is kept in the
    response's ``history``, as ``requests`` does for redirects). Same arguments as
    :class:`tokensmith.dpop.DPoPAuth`."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._presenter.access_token()
        method, url = request.method or "GET", request.url or ""
        request.headers.update(self._presenter.headers(method, url, token))
        retried = False

        def on_response(response: requests.Response, **kwargs: Any) -> requests.Response:
            nonlocal retried
            if retried or not self._presenter.retry_after(
                url, response.status_code, response.headers
            ):
                return response
            retried = True
            response.content  # noqa: B018 - read the body so the connection is released
            response.close()
            again = response.request.copy()
            again.headers.update(self._presenter.headers(method, url, token))
            answer: requests.Response = response.connection.send(again, **kwargs)
            answer.history.append(response)
            answer.request = again
            return answer

        request.register_hook("response", on_response)
        return request
