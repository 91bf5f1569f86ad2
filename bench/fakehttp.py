"""An in-process identity provider behind MSAL's ``http_client`` duck type.

One object type serves both libraries: ``get(url, params=None, headers=None, **kw)``
and ``post(url, params=None, data=None, headers=None, **kw)`` returning an object with
``status_code``, ``text``, ``headers`` and ``raise_for_status()``. It answers OIDC
discovery and instance discovery (what msal's constructor fetches), and the token
endpoint for the refresh-token, client-credentials and on-behalf-of grants. POSTs are counted under
a lock, so concurrent callers can be checked for single-flight behaviour.

:class:`AsyncFakeHttpClient` is the same endpoint for ``tokensmith.aio``: its ``get``
and ``post`` are coroutines (awaiting ``asyncio.sleep`` for the token latency), and it
answers from the very same code, :class:`FakeEndpoint`.

:class:`FakeImds` is a VM's managed-identity endpoint (IMDS) behind the same sync duck
type, for the managed-identity rows.

Nothing here opens a socket. The bench additionally forbids sockets in its process
(:mod:`bench.netguard`), so a library that tried the real network would fail loudly.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench import cachegen, ids

__all__ = [
    "OBO_GRANT",
    "AsyncFakeHttpClient",
    "FakeEndpoint",
    "FakeHttpClient",
    "FakeImds",
    "FakeResponse",
]

_JSON = {"content-type": "application/json; charset=utf-8"}


@dataclass
class FakeResponse:
    """The response object both libraries read (``requests.Response``-like)."""

    status_code: int
    text: str
    headers: dict[str, str] = field(default_factory=lambda: dict(_JSON))

    def raise_for_status(self) -> None:
        """Raise ``RuntimeError`` for an HTTP error status, like ``requests`` would."""
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.text)


OBO_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
"""The on-behalf-of grant (RFC 7523 §2.1, as Entra uses it)."""


def _obo_body(assertion: str, form: Mapping[str, Any]) -> str:
    """An on-behalf-of answer for ``assertion``: its own access and refresh token, and
    the user's ``client_info`` (so each user's tokens have their own cache keys)."""
    tag = assertion[-12:]
    return json.dumps(
        {
            "token_type": "Bearer",
            "scope": str(form.get("scope", "")),
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": f"obo-at-{tag}",
            "refresh_token": f"obo-rt-{tag}",
            "client_info": cachegen.client_info_for(f"obo-user-{tag}"),
        }
    )


def _error(status: int, error: str, description: str) -> FakeResponse:
    body = {"error": error, "error_description": description, "error_codes": [9002313]}
    return FakeResponse(status, json.dumps(body))


class FakeEndpoint:
    """An in-process token endpoint plus discovery documents, without the transport:
    :meth:`answer_get` and :meth:`answer_post` count the request and build the
    response; the sync and async clients below add the latency their own way.

    Args:
        token_latency: seconds each token POST sleeps before answering (simulated
            network round trip; 0 for CPU-only measurements).
        now: the clock used for ``iat``/``exp`` of ID tokens it issues.
    """

    def __init__(self, *, token_latency: float = 0.0, now: Callable[[], float] = time.time) -> None:
        self.token_latency = token_latency
        self._now = now
        self._lock = threading.Lock()
        self._posts = 0
        self._gets = 0
        self._grants: dict[str, int] = {}
        self._refresh_bodies: dict[str, str] = {}
        self._app_body = json.dumps(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": "app-at-issued-by-fake",
            }
        )

    @property
    def post_count(self) -> int:
        """Token requests received so far."""
        with self._lock:
            return self._posts

    @property
    def get_count(self) -> int:
        """GET requests (discovery) received so far."""
        with self._lock:
            return self._gets

    def grant_counts(self) -> dict[str, int]:
        """Token requests received so far, by ``grant_type``."""
        with self._lock:
            return dict(self._grants)

    def answer_get(self, url: str) -> FakeResponse:
        """Serve OIDC discovery for any tenant of the host, and instance discovery."""
        with self._lock:
            self._gets += 1
        parts = urlsplit(url)
        document = ids.discovery_answer(parts.path)
        if parts.hostname != ids.ENVIRONMENT or document is None:
            return _error(404, "not_found", "unknown host or path")
        return FakeResponse(200, json.dumps(document))

    def answer_post(self, url: str, data: Mapping[str, Any] | None) -> FakeResponse:
        """Answer the token endpoint (refresh_token, client_credentials and OBO grants).

        The request is counted on arrival; the caller adds ``token_latency``.
        """
        form = dict(data or {})
        grant = str(form.get("grant_type", ""))
        with self._lock:
            self._posts += 1
            self._grants[grant] = self._grants.get(grant, 0) + 1
        if not url.endswith("/oauth2/v2.0/token"):
            return _error(404, "not_found", "not a token endpoint")
        if grant == "client_credentials":
            return FakeResponse(200, self._app_body)
        if grant == "refresh_token":
            body = self.refresh_body(str(form.get("refresh_token", "")))
            if body is not None:
                return FakeResponse(200, body)
            return _error(400, "invalid_grant", "AADSTS9002313: unknown refresh token.")
        if grant == OBO_GRANT:
            return FakeResponse(200, _obo_body(str(form.get("assertion", "")), form))
        return _error(400, "unsupported_grant_type", "only refresh, client credentials, OBO")

    def refresh_body(self, refresh_token: str) -> str | None:
        """The token response for a refresh token made by :mod:`bench.cachegen`.

        Responses are memoized per refresh token, so a scenario can build them before
        it starts timing (calling this once per token) and the timed calls measure the
        library, not this fake.
        """
        with self._lock:
            cached = self._refresh_bodies.get(refresh_token)
        if cached is not None:
            return cached
        parsed = cachegen.parse_refresh_token(refresh_token)
        if parsed is None:
            return None
        uid, utid, index = parsed
        now = int(self._now())
        body = json.dumps(
            {
                "token_type": "Bearer",
                "scope": cachegen.SUBSET_TARGET,  # same key: overwrites in place
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": f"at-refreshed-{index}",
                "refresh_token": f"rt~{uid}~{utid}~{index}~rotated",
                "id_token": cachegen.id_token_for(uid, cachegen.username_for(index), now, utid),
                "client_info": cachegen.client_info_for(uid, utid),
            }
        )
        with self._lock:
            self._refresh_bodies[refresh_token] = body
        return body


class FakeHttpClient(FakeEndpoint):
    """:class:`FakeEndpoint` behind MSAL's sync ``http_client`` duck type; a token
    POST blocks its thread for ``token_latency`` seconds."""

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> FakeResponse:
        """Discovery documents (see :meth:`FakeEndpoint.answer_get`)."""
        return self.answer_get(url)

    def post(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> FakeResponse:
        """The token endpoint (see :meth:`FakeEndpoint.answer_post`)."""
        response = self.answer_post(url, data)
        if self.token_latency:
            time.sleep(self.token_latency)
        return response

    def close(self) -> None:
        """Nothing to release (present because msal calls it if it exists)."""


class AsyncFakeHttpClient(FakeEndpoint):
    """:class:`FakeEndpoint` behind an ``http_client`` whose ``get``/``post`` are
    coroutines (used directly by ``tokensmith.aio``); a token POST awaits
    ``asyncio.sleep(token_latency)``, so concurrent coroutines overlap."""

    async def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> FakeResponse:
        """Discovery documents (see :meth:`FakeEndpoint.answer_get`)."""
        return self.answer_get(url)

    async def post(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> FakeResponse:
        """The token endpoint (see :meth:`FakeEndpoint.answer_post`)."""
        response = self.answer_post(url, data)
        if self.token_latency:
            import asyncio  # the sync probes never load it

            await asyncio.sleep(self.token_latency)
        return response

    async def aclose(self) -> None:
        """Nothing to release."""


class FakeImds:
    """The VM's managed-identity endpoint (IMDS), in process, behind MSAL's sync
    ``http_client`` duck type: ``GET {host}/metadata/identity/oauth2/token`` answers a
    token for the asked ``resource``, as IMDS words it (lifetimes as strings). Only a
    loopback ``host`` is served (the bench points the source there through
    ``AZURE_POD_IDENTITY_AUTHORITY_HOST``); anything else is a 404. GETs are counted.

    Args:
        host: the base URL the source was pointed at, e.g. ``http://127.0.0.1:9``.
        expires_in: the lifetime it states, in seconds.
    """

    PATH = "/metadata/identity/oauth2/token"

    def __init__(self, host: str, *, expires_in: int = 86_399) -> None:
        parts = urlsplit(host)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the fake IMDS serves loopback only, not {host!r}")
        self.url = host.rstrip("/") + self.PATH
        self.expires_in = expires_in
        self._lock = threading.Lock()
        self._gets = 0

    @property
    def get_count(self) -> int:
        """Token requests received so far."""
        with self._lock:
            return self._gets

    @staticmethod
    def token_for(resource: str) -> str:
        """The access token it issues for ``resource``."""
        return f"mi-at-for-{resource}"

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> FakeResponse:
        """A token for ``params["resource"]`` (needs ``Metadata: true``), else an error."""
        with self._lock:
            self._gets += 1
        params = dict(params or {})
        if url != self.url or params.get("api-version") != "2018-02-01":
            return _error(404, "not_found", "not the IMDS token endpoint")
        if (headers or {}).get("Metadata") != "true":
            return _error(400, "invalid_request", "Required metadata header not specified")
        resource = str(params.get("resource", ""))
        body = {
            "access_token": self.token_for(resource),
            "expires_in": str(self.expires_in),
            "expires_on": str(int(time.time()) + self.expires_in),
            "ext_expires_in": str(self.expires_in),
            "not_before": str(int(time.time())),
            "resource": resource,
            "token_type": "Bearer",
        }
        return FakeResponse(200, json.dumps(body))

    def post(self, url: str, **kwargs: Any) -> FakeResponse:
        """IMDS has no POST."""
        return _error(405, "method_not_allowed", "IMDS answers GET only")

    def close(self) -> None:
        """Nothing to release."""
