"""A tiny fake of Entra's discovery endpoints for the authority tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.mock import MockTransport, json_response

GUID = "7d3f1e2a-5b4c-4d6e-8f90-1a2b3c4d5e6f"
Route = HttpResponse | Callable[[HttpRequest], HttpResponse]


def entra_document(host: str = "login.microsoftonline.com", tenant: str = GUID) -> dict[str, Any]:
    """An OpenID configuration shaped like Entra's (protocol notes §1.3)."""
    base = f"https://{host}/{tenant}"
    issuer_tenant = "{tenantid}" if tenant in ("common", "organizations") else tenant
    return {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "issuer": f"https://{host}/{issuer_tenant}/v2.0",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "tenant_region_scope": "WW",
    }


class FakeServer:
    """Answers by exact URL (query parameters excluded); 404 for anything else."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.transport = MockTransport(self._handle)

    def add(self, url: str, route: Route | dict[str, Any]) -> None:
        self.routes[url] = json_response(route) if isinstance(route, dict) else route

    def _handle(self, request: HttpRequest) -> HttpResponse:
        route = self.routes.get(request.url)
        if route is None:
            return json_response({"error": "not_found"}, 404)
        return route if isinstance(route, HttpResponse) else route(request)

    @property
    def urls(self) -> list[str]:
        return [r.url for r in self.transport.requests]


def make_resolver(transport: Any, memo: Any = None) -> Any:
    """A resolver for :class:`~tokensmith.authority.Authority`: the discovery flow
    driven over ``transport`` (the process-wide memo unless ``memo``)."""
    from tokensmith.authority.resolve import resolve_metadata
    from tokensmith.drivers.sync import run_flow

    return lambda spec: run_flow(resolve_metadata(spec, memo), transport)
