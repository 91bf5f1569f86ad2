"""The application tests' Entra stand-in (``tests/unit/application/fake_entra.py``)
behind MSAL's ``http_client`` interface (``get``/``post``), so one public call runs
through the real MSAL Python 1.39 and through tokensmith, and the tests compare what
each sent, returned and cached.

Tokens are numbered per server, so two servers that see the same requests in the
same order answer the same; give each library its own :class:`FakeEntraHttp`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from tests.unit.application.fake_entra import HOST, TENANT, UID, FakeEntra

from tokensmith.transport.base import HttpRequest, HttpResponse

__all__ = ["AUTHORITY", "HOST", "TENANT", "UID", "USERNAME", "FakeEntraHttp", "cache_sections"]

AUTHORITY = f"https://{HOST}/{TENANT}"
USERNAME = "ada@contoso.example"
ALIASES = ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com"]

SECRET_FIELDS = frozenset({"secret"})
TIME_FIELDS = frozenset(
    {"cached_at", "expires_on", "extended_expires_on", "refresh_on", "last_modification_time"}
)


class Response:
    """What MSAL reads of a ``requests.Response``."""

    def __init__(self, answer: HttpResponse) -> None:
        self.status_code = answer.status_code
        self.text = answer.text
        self.headers = dict(answer.headers)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}")


@dataclass
class Sent:
    """One request as the http_client saw it."""

    method: str
    url: str
    params: dict[str, Any]
    data: dict[str, Any]
    headers: dict[str, str]


_ISSUED_AT = float(int(time.time()))
"""The one time every id token of these servers is issued at (an hour's lifetime):
the MSAL run and the tokensmith run of one test must get the same id token, which a
second boundary between them changed (``iat`` from the clock, a flaky comparison)."""


class FakeEntraHttp:
    """Instance discovery here; discovery and the token endpoint by :class:`FakeEntra`
    (``entra.token_handler`` and ``entra.extra`` shape the token answers)."""

    def __init__(self, foci: str | None = None) -> None:
        self.entra = FakeEntra(lambda: _ISSUED_AT)
        self.entra.username = USERNAME
        if foci:
            self.entra.extra["foci"] = foci
        self.sent: list[Sent] = []

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> Response:
        self.sent.append(Sent("GET", url, dict(params or {}), {}, dict(headers or {})))
        if urlparse(url).path.endswith("/discovery/instance"):
            return Response(HttpResponse(200, json.dumps(_instance_metadata()), {}))
        return Response(self.entra.handle(HttpRequest("GET", url, params, None, headers or {})))

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> Response:
        form = {str(k): str(v) for k, v in dict(data or {}).items()}
        self.sent.append(Sent("POST", url, dict(params or {}), form, dict(headers or {})))
        return Response(self.entra.handle(HttpRequest("POST", url, params, form, headers or {})))

    def close(self) -> None:
        pass

    def token_posts(self) -> list[Sent]:
        return [s for s in self.sent if s.method == "POST" and s.url.endswith("/token")]


def _instance_metadata() -> dict[str, Any]:
    return {
        "tenant_discovery_endpoint": f"{AUTHORITY}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [
            {"preferred_network": HOST, "preferred_cache": "login.windows.net", "aliases": ALIASES}
        ],
    }


def cache_sections(cache_json: str | Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """A serialized cache with secrets and timestamps masked (everything else kept)."""
    state = json.loads(cache_json) if isinstance(cache_json, str) else dict(cache_json)
    return {
        section: {
            key: {
                k: "<secret>" if k in SECRET_FIELDS else "<time>" if k in TIME_FIELDS else v
                for k, v in entry.items()
            }
            for key, entry in entries.items()
        }
        for section, entries in state.items()
    }
