"""An in-process Entra stand-in with MSAL's ``http_client`` interface (``get``/``post``)
for the confidential client tests: discovery answers for any host (regional and
sovereign hosts included, so MSAL's regional authority discovers its own endpoints),
and the IMDS compute endpoint that region discovery asks (answered in process:
nothing is sent anywhere).

Also the two applications side by side: :func:`pair` builds the same confidential
client in the real MSAL 1.39 and in tokensmith, each over its own fake.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import msal  # type: ignore[import-untyped]
from tests.unit.dropin.surface_oracle import Response, Sent

import tokensmith
from tokensmith._jwt import b64url_decode, b64url_encode
from tokensmith.protocol.http import HttpResponse

HOST = "login.microsoftonline.com"
TENANT = "7d3f1e2a-5b4c-4d6e-8f90-1a2b3c4d5e6f"
AUTHORITY = f"https://{HOST}/{TENANT}"
UID = "4b1e2d3c-8a7f-49b0-9c1d-2e3f4a5b6c7d"
IMDS_COMPUTE = "http://169.254.169.254/metadata/instance/compute"
SCOPES = ["api://resource/.default"]
TIME_FIELDS = frozenset({"cached_at", "expires_on", "extended_expires_on", "refresh_on"})


def _answer(status_code: int, body: Any) -> Response:
    text = body if isinstance(body, str) else json.dumps(body)
    return Response(HttpResponse(status_code, text, {"content-type": "application/json"}))


def _text(value: Any) -> str:
    """A form value as sent (MSAL hands over its client assertion as bytes)."""
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _jwt(claims: Mapping[str, Any]) -> str:
    head = b64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{head}.{b64url_encode(json.dumps(dict(claims)).encode())}.sig"


@dataclass
class RegionalFake:
    """Instance discovery, discovery documents naming the host they were asked on
    (regional and sovereign hosts too), a token endpoint issuing numbered tokens, and
    IMDS's compute metadata answering ``location`` (None: no answer, as outside
    Azure; ``imds_body``: that body verbatim)."""

    location: Any = None
    imds_body: str | None = None
    sent: list[Sent] = field(default_factory=list)
    counter: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> Response:
        self._record("GET", url, params, None, headers)
        parsed = urlparse(url)
        if url.split("?")[0] == IMDS_COMPUTE:
            if self.imds_body is not None:
                return _answer(200, self.imds_body)
            if self.location is None:
                raise ConnectionError("no IMDS here")
            return _answer(200, {"location": self.location, "name": "vm"})
        if parsed.path.endswith("/discovery/instance"):
            return _answer(200, _instance_metadata(parsed.netloc))
        if parsed.path.endswith("/.well-known/openid-configuration"):
            tenant = parsed.path.split("/")[1]
            base = f"https://{parsed.netloc}/{tenant}"
            return _answer(
                200,
                {
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "issuer": f"https://{HOST}/{TENANT}/v2.0",
                    "jwks_uri": f"{base}/discovery/v2.0/keys",
                },
            )
        return _answer(404, {"error": "not_found"})

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> Response:
        form = {str(k): _text(v) for k, v in dict(data or {}).items()}
        self._record("POST", url, params, form, headers)
        if not urlparse(url).path.endswith("/token"):
            return _answer(404, {"error": "not_found"})
        return _answer(200, self.issue(form))

    def close(self) -> None:
        pass

    def issue(self, form: Mapping[str, str]) -> dict[str, Any]:
        with self.lock:
            self.counter += 1
            n = self.counter
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": 3600,
            "ext_expires_in": 3600,
            "access_token": f"at-{n}",
        }
        if form.get("grant_type") == "client_credentials":
            return body
        body.update(
            scope=form.get("scope", ""),
            refresh_token=f"rt-{n}",
            client_info=b64url_encode(json.dumps({"uid": UID, "utid": TENANT}).encode()),
            id_token=_jwt(
                {
                    "aud": form.get("client_id"),
                    "iss": f"https://{HOST}/{TENANT}/v2.0",
                    "oid": UID,
                    "sub": "pairwise-sub",
                    "tid": TENANT,
                    "preferred_username": "ada@contoso.example",
                    "iat": 1_700_000_000,
                    "exp": 4_000_000_000,
                }
            ),
        )
        return body

    def token_posts(self) -> list[Sent]:
        return [s for s in self.sent if s.method == "POST" and s.url.endswith("/token")]

    def imds_calls(self) -> list[Sent]:
        return [s for s in self.sent if s.url.startswith(IMDS_COMPUTE)]

    def _record(self, method: str, url: str, params: Any, data: Any, headers: Any) -> None:
        with self.lock:
            self.sent.append(
                Sent(method, url, dict(params or {}), dict(data or {}), dict(headers or {}))
            )


def _instance_metadata(host: str) -> dict[str, Any]:
    return {
        "tenant_discovery_endpoint": f"https://{host}/{TENANT}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [
            {
                "preferred_network": HOST,
                "preferred_cache": "login.windows.net",
                "aliases": [HOST, "login.windows.net", "login.microsoft.com"],
            }
        ],
    }


def pair(**options: Any) -> tuple[Any, RegionalFake, Any, RegionalFake]:
    """``(msal_app, msal_fake, tokensmith_app, tokensmith_fake)`` built alike.

    ``location`` and ``imds_body`` go to both fakes; everything else to both
    constructors (``authority`` defaults to the tenant of :mod:`.surface_oracle`).
    """
    fake_options = {k: options.pop(k) for k in ("location", "imds_body") if k in options}
    options.setdefault("authority", AUTHORITY)
    options.setdefault("client_credential", "s3cret")
    msal_fake, ts_fake = RegionalFake(**fake_options), RegionalFake(**fake_options)
    msal_app = msal.ConfidentialClientApplication("cid", http_client=msal_fake, **options)
    ts_app = tokensmith.ConfidentialClientApplication("cid", http_client=ts_fake, **options)
    return msal_app, msal_fake, ts_app, ts_fake


def jwt_header(token: str) -> dict[str, Any]:
    return dict(json.loads(b64url_decode(token.split(".")[0])))


def token_form(fake: RegionalFake, index: int = -1) -> dict[str, Any]:
    return fake.token_posts()[index].data


def result_shape(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A result with the numbered token and the lifetimes that tick masked."""
    if result is None:
        return None
    return {k: ("<n>" if k in {"expires_in", "refresh_on"} else v) for k, v in result.items()}


def cache_view(cache_json: str) -> dict[str, dict[str, dict[str, Any]]]:
    """A serialized cache with secrets and timestamps masked (the rest kept)."""
    state = json.loads(cache_json)
    return {
        section: {
            key: {
                k: "<secret>" if k == "secret" else "<time>" if k in TIME_FIELDS else v
                for k, v in entry.items()
            }
            for key, entry in entries.items()
        }
        for section, entries in state.items()
    }


@dataclass
class StrictFake(RegionalFake):
    """A fake whose ``post`` takes only what ``requests`` would: an unknown keyword
    reaching it is a ``TypeError``, as it is for MSAL's default client."""

    def post(  # type: ignore[override]
        self,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        timeout: Any = None,
    ) -> Response:
        return super().post(url, params=params, data=data, headers=headers)
