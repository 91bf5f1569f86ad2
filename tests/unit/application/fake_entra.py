"""An in-process stand-in for Entra's endpoints, driven through MockTransport."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from tokensmith._jwt import b64url_encode
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.mock import MockTransport, json_response

HOST = "login.microsoftonline.com"
TENANT = "7d3f1e2a-5b4c-4d6e-8f90-1a2b3c4d5e6f"
OTHER_TENANT = "0a1b2c3d-0000-4000-8000-000000000001"
UID = "4b1e2d3c-8a7f-49b0-9c1d-2e3f4a5b6c7d"


def unsigned_jwt(claims: dict[str, Any]) -> str:
    header = b64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url_encode(json.dumps(claims).encode())}.sig"


def client_info(uid: str = UID, utid: str = TENANT) -> str:
    return b64url_encode(json.dumps({"uid": uid, "utid": utid}).encode())


def discovery_document(tenant: str, host: str = HOST) -> dict[str, Any]:
    base = f"https://{host}/{tenant}"
    return {
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        # as Entra: the multi-tenant documents name a template, filled from `tid`
        "issuer": f"https://{host}/"
        + ("{tenantid}" if tenant in ("common", "organizations") else tenant)
        + "/v2.0",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
    }


class FakeEntra:
    """Answers discovery, user realm, device code and token requests.

    ``token_handler`` decides each token response; by default it issues tokens.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.token_requests: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.counter = 0
        self.token_handler: Callable[[dict[str, str]], HttpResponse] = self.issue
        self.username = "ada@contoso.example"
        self.expires_in = 3600
        self.extra: dict[str, Any] = {}
        self.jwks: dict[str, Any] = {"keys": []}
        self.jwks_requests = 0
        self.transport = MockTransport(self.handle)

    def handle(self, request: HttpRequest) -> HttpResponse:
        path = urlparse(request.url).path
        if path.endswith("/.well-known/openid-configuration"):
            tenant = path.split("/")[1]
            if tenant == "contoso.example":
                tenant = TENANT
            return json_response(discovery_document(tenant))
        if "/userrealm/" in path:
            kind = "Federated" if "federated" in path else "Managed"
            return json_response({"ver": "1.0", "account_type": kind})
        if path.endswith("/devicecode"):
            return json_response(
                {
                    "device_code": "DC-1",
                    "user_code": "ABCD-EFGH",
                    "verification_uri": "https://microsoft.com/devicelogin",
                    "expires_in": 900,
                    "interval": 5,
                    "message": "Enter ABCD-EFGH",
                }
            )
        if path.endswith("/discovery/v2.0/keys"):
            self.jwks_requests += 1
            return json_response(self.jwks)
        if path.endswith("/token"):
            form = dict(request.data or {})
            with self.lock:
                self.token_requests.append(form)
            return self.token_handler(form)
        return HttpResponse(404, "not found", {})

    def issue(self, form: dict[str, str]) -> HttpResponse:
        with self.lock:
            self.counter += 1
            n = self.counter
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "ext_expires_in": self.expires_in,
            "access_token": f"at-{n}",
        }
        if form.get("grant_type") != "client_credentials":
            tenant = TENANT
            body.update(
                scope=form.get("scope", ""),
                refresh_token=f"rt-{n}",
                client_info=client_info(),
                id_token=unsigned_jwt(
                    {
                        "aud": form.get("client_id"),
                        "iss": f"https://{HOST}/{tenant}/v2.0",
                        "oid": UID,
                        "sub": "pairwise-sub",
                        "tid": tenant,
                        "preferred_username": self.username,
                        "iat": int(self.clock()),
                        "exp": int(self.clock()) + 3600,
                    }
                ),
            )
        body.update(self.extra)
        return json_response(body)

    def tokens_posted(self, grant_type: str | None = None) -> int:
        return sum(1 for f in self.token_requests if grant_type in (None, f.get("grant_type")))
