"""Managed identity tokens through the one cache-first path (:mod:`.cache_first`).

:func:`acquire_token_for_client` detects the source from the host's environment (as
MSAL Python 1.39 does, at every call that asks the source; a cache hit does not), and
describes the acquisition as a
:class:`~.cache_first.CacheFirstRequest`: the lookup and the write-back use MSAL's
cache entries (``environment`` ``localhost``, ``realm`` ``managed_identity``,
``client_id`` the identity's id, ``target`` the resource); a token of two hours or more
is due for refresh at half its life (``refresh_in``); a claims challenge bypasses the
cache and names the token it replaces (Service Fabric sends its hash). The requests
and answers of each source are :mod:`tokensmith.protocol.managed_identity`'s.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tokensmith._clock import Clock
from tokensmith._version import __version__
from tokensmith.authority import parse_authority
from tokensmith.cache import TokenCache
from tokensmith.engine.cache_first import cache_first
from tokensmith.engine.context import AppContext, AuthorityHandle
from tokensmith.engine.results import TOKEN_SOURCE_IDP, TokenResult
from tokensmith.engine.state import USABLE_SECONDS
from tokensmith.entra.headers import SKU
from tokensmith.protocol.client_auth import PublicClientAuth
from tokensmith.protocol.effects import Flow, Sleep
from tokensmith.protocol.http import HttpResponse
from tokensmith.protocol.managed_identity import (
    app_service,
    arc,
    cloud_shell,
    imds,
    machine_learning,
    service_fabric,
    sources,
)
from tokensmith.protocol.managed_identity.identity import cache_client_id

__all__ = ["ENVIRONMENT", "REALM", "Host", "acquire_token_for_client", "mi_context"]

ENVIRONMENT = "localhost"
REALM = "managed_identity"
TOKEN_ENDPOINT = f"https://{ENVIRONMENT}/{REALM}"
LONG_LIVED = 7200
"""A token living this long or longer is refreshed at half its life (MSAL's rule)."""
DEFAULT_EXPIRES_IN = 3600


@dataclass(frozen=True)
class Host:
    """What a managed-identity flow reads from the machine it runs on (the façade gives
    the real one; tests give fakes).

    Attributes:
        environ: the environment variables.
        platform: ``sys.platform``.
        exists: whether a path exists (the Arc agent probe).
        expandvars: ``os.path.expandvars``.
        read_key: reads Arc's challenge key file, after checking it (raises
            ``ManagedIdentityError``).
        arc_key_directory: where Arc key files may be read from (None: the agent's).
    """

    environ: Mapping[str, str]
    platform: str
    exists: Callable[[str], bool]
    expandvars: Callable[[str], str]
    read_key: Callable[[str], str]
    arc_key_directory: str | None = None

    def source(self) -> sources.Source:
        """The source this host's environment names."""
        return sources.detect(
            self.environ, platform=self.platform, exists=self.exists, expandvars=self.expandvars
        )


def mi_context(cache: TokenCache, clock: Clock) -> AppContext:
    """The engine context of a managed-identity client (no authority to discover)."""
    return AppContext(
        client_id=REALM,
        cache=cache,
        client_auth=PublicClientAuth(),
        default_spec=parse_authority(TOKEN_ENDPOINT, validate_authority=False),
        aliases=lambda host: (),
        base_headers={},
        clock=clock,
        authority_options={"validate_authority": False},
        is_public=False,
    )


_HANDLE = AuthorityHandle(
    parse_authority(TOKEN_ENDPOINT, validate_authority=False), (ENVIRONMENT,), known_realm=REALM
)


def acquire_token_for_client(
    ctx: AppContext,
    identity: Mapping[str, Any],
    host: Host,
    resource: str,
    claims_challenge: str | None,
    client_capabilities: Sequence[str],
) -> Flow[TokenResult]:
    """The flow of ``ManagedIdentityClient.acquire_token_for_client``.

    Raises:
        ManagedIdentityError: (from the flow) a misconfigured source or an Arc challenge
            that cannot be answered. TransportError: no answer and nothing cached.
    """
    request = _ForIdentity(ctx, identity, host, resource, client_capabilities)
    if claims_challenge:
        request.token_to_refresh = request.usable_secret(ctx.clock())
    return cache_first(ctx, request, force=bool(claims_challenge))  # type: ignore[return-value]


class _ForIdentity:
    """The cache-first request of one identity and resource."""

    handle = _HANDLE

    def __init__(
        self,
        ctx: AppContext,
        identity: Mapping[str, Any],
        host: Host,
        resource: str,
        client_capabilities: Sequence[str],
    ) -> None:
        self.ctx = ctx
        self.identity = identity
        self.client_id = cache_client_id(identity)
        self.host = host
        self.resource = resource
        self.capabilities = client_capabilities
        self.token_to_refresh: str | None = None

    @functools.cached_property
    def source(self) -> sources.Source:
        """The source the environment names, detected when a request is due (as MSAL
        does: a cache hit reads no environment variable and probes no file)."""
        return self.host.source()

    def lookup(self, realm: str, now: float) -> dict[str, Any] | None:
        return self.ctx.cache.find_access_token(
            home_account_id=None,
            environments=(ENVIRONMENT,),
            client_id=self.client_id,
            realm=realm,
            scopes=[self.resource],
            now=now,
        )

    def usable_secret(self, now: float) -> str | None:
        """The cached token a claims challenge replaces (if still usable), else None."""
        entry = self.lookup(REALM, now)
        if entry is None or int(entry["expires_on"]) - now < USABLE_SECONDS:
            return None
        return str(entry["secret"])

    def flight_key(self, realm: str) -> Hashable:
        return (
            "managed_identity",
            self.source.kind.name,
            self.source.endpoint,
            self.client_id,
            self.resource,
            self.token_to_refresh,
        )

    def fetch(self, realm: str, reason: int) -> Flow[TokenResult | None]:
        result = yield from _ASK[self.source.kind](self)
        return self._record(result)

    def _record(self, result: dict[str, Any]) -> TokenResult:
        """Cache a token as MSAL's client does (``add(event)``) and shape the result."""
        if "access_token" not in result:
            return TokenResult(result)
        now = self.ctx.clock()
        expires_in = result.get("expires_in", DEFAULT_EXPIRES_IN)
        if "refresh_in" not in result and expires_in >= LONG_LIVED:
            result["refresh_in"] = int(expires_in / 2)
        event = {
            "client_id": self.client_id,
            "scope": [self.resource],
            "token_endpoint": TOKEN_ENDPOINT,
            "response": dict(result),
            "params": {},
            "data": {},
        }
        self.ctx.cache.add(event, now=now)
        if "refresh_in" in result:
            result["refresh_on"] = int(now + result["refresh_in"])
        result["token_source"] = TOKEN_SOURCE_IDP
        return TokenResult(result)


def _imds(req: _ForIdentity) -> Flow[dict[str, Any]]:
    request = imds.request(
        req.source.endpoint,
        req.identity,
        req.resource,
        sku=SKU,
        version=__version__,
        request_id=str(uuid.uuid4()),
    )
    attempt = 0
    while True:
        response: HttpResponse = yield request
        delay = imds.should_retry(response, attempt)
        if delay is None:
            return imds.parse(response)
        yield Sleep(delay)
        attempt += 1


def _app_service(req: _ForIdentity) -> Flow[dict[str, Any]]:
    source = req.source
    response = yield app_service.request(
        source.endpoint, source.secret or "", req.identity, req.resource
    )
    return app_service.parse(response, req.ctx.clock())


def _machine_learning(req: _ForIdentity) -> Flow[dict[str, Any]]:
    source = req.source
    response = yield machine_learning.request(
        source.endpoint, source.secret or "", req.identity, req.resource
    )
    return machine_learning.parse(response, req.ctx.clock())


def _service_fabric(req: _ForIdentity) -> Flow[dict[str, Any]]:
    source = req.source
    service_fabric.normalize_thumbprint(source.thumbprint or "")  # refuse a bad pin early
    response = yield service_fabric.request(
        source.endpoint,
        source.secret or "",
        req.resource,
        token_to_refresh=req.token_to_refresh,
        client_capabilities=req.capabilities,
    )
    return service_fabric.parse(response, req.ctx.clock())


def _arc(req: _ForIdentity) -> Flow[dict[str, Any]]:
    endpoint = req.source.endpoint
    first: HttpResponse = yield arc.request(endpoint, req.identity, req.resource)
    if first.status_code != 401:
        return arc.not_challenged(first)
    host = req.host
    path = arc.key_file_path(first, platform=host.platform, directory=host.arc_key_directory)
    key = host.read_key(path)
    second = yield arc.request(endpoint, req.identity, req.resource, key=key)
    return arc.parse(second, req.identity)


def _cloud_shell(req: _ForIdentity) -> Flow[dict[str, Any]]:
    response = yield cloud_shell.request(req.source.endpoint, req.resource)
    return cloud_shell.parse(response)


_ASK: dict[sources.SourceKind, Callable[[_ForIdentity], Flow[dict[str, Any]]]] = {
    sources.DEFAULT_TO_VM: _imds,
    sources.APP_SERVICE: _app_service,
    sources.MACHINE_LEARNING: _machine_learning,
    sources.SERVICE_FABRIC: _service_fabric,
    sources.AZURE_ARC: _arc,
    sources.CLOUD_SHELL: _cloud_shell,
}
