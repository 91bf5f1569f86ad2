"""What one application instance shares between its calls.

:class:`AppContext` owns the transport stack (created lazily, on the first request),
the clock, the cache, the client authentication and the static headers, and resolves
authorities: the default one given to the constructor and any per-request override.
Nothing here touches the network at construction time.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from tokensmith._clock import Clock
from tokensmith.authority import AuthorityKind, AuthorityMetadata, AuthoritySpec, parse_authority
from tokensmith.cache import TokenCache
from tokensmith.drivers.sync import run_flow
from tokensmith.protocol.client_auth import ClientAuth
from tokensmith.protocol.effects import Flow
from tokensmith.transport.base import Transport

__all__ = ["AppContext", "AuthorityHandle"]

T = TypeVar("T")

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TENANTLESS = frozenset({"common", "organizations", "consumers"})


@dataclass(eq=False)
class AuthorityHandle:
    """An authority as one request uses it: parsed now, discovered only when needed."""

    spec: AuthoritySpec
    environments: tuple[str, ...]
    _resolve: Callable[[AuthoritySpec], AuthorityMetadata] = field(repr=False)

    @property
    def instance(self) -> str:
        """The host the cache records as ``environment`` (no port, as MSAL records it)."""
        return self.spec.host

    @cached_property
    def metadata(self) -> AuthorityMetadata:
        """The discovered endpoints (one discovery per process and authority)."""
        return self._resolve(self.spec)

    @cached_property
    def realm(self) -> str:
        """The cache ``realm``: MSAL's tenant segment of the token endpoint.

        For Entra authorities whose tenant is a GUID or one of common / organizations /
        consumers, discovery would give back the same segment, so it is known without
        a request; that keeps silent cache hits free of network I/O.
        """
        tenant = self.spec.tenant or ""
        if self.spec.kind is AuthorityKind.AAD and (
            tenant.lower() in _TENANTLESS or _GUID.match(tenant)
        ):
            return tenant.lower()
        return self.metadata.tenant


class AppContext:
    """Shared state of one application object."""

    def __init__(
        self,
        *,
        client_id: str,
        cache: TokenCache,
        client_auth: ClientAuth,
        transport_factory: Callable[[], Transport],
        resolve: Callable[[AuthoritySpec, AppContext], AuthorityMetadata],
        aliases: Callable[[str], tuple[str, ...]],
        base_headers: dict[str, str],
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
        authority_options: dict[str, Any],
    ) -> None:
        self.client_id = client_id
        self.cache = cache
        self.client_auth = client_auth
        self.base_headers = base_headers
        self.clock = clock
        self.sleep = sleep
        self._transport_factory = transport_factory
        self._transport: Transport | None = None
        self._transport_lock = threading.Lock()
        self._resolve = resolve
        self._aliases = aliases
        self._authority_options = authority_options
        self._handles: dict[str, AuthorityHandle] = {}

    @property
    def transport(self) -> Transport:
        """The transport stack, built on first use."""
        transport = self._transport
        if transport is None:
            with self._transport_lock:
                if self._transport is None:
                    self._transport = self._transport_factory()
                transport = self._transport
        return transport

    def run(self, flow: Flow[T]) -> T:
        """Drive a sans-I/O flow over this application's transport."""
        return run_flow(flow, self.transport, self.sleep)

    def handle(
        self, authority: str | None, default: AuthorityHandle | None = None
    ) -> AuthorityHandle:
        """The handle for ``authority`` (a URL), parsed once per application.

        Raises:
            AuthorityError: the URL is not an acceptable authority.
        """
        if authority is None and default is not None:
            return default
        key = str(authority)
        found = self._handles.get(key)
        if found is None:
            spec = parse_authority(authority, **self._authority_options)
            found = self.handle_for_spec(spec)
            self._handles[key] = found
        return found

    def handle_for_spec(self, spec: AuthoritySpec) -> AuthorityHandle:
        """Wrap a parsed authority."""
        envs = (spec.host, *(a for a in self._aliases(spec.host) if a != spec.host))
        return AuthorityHandle(spec, envs, lambda s: self._resolve(s, self))

    def close(self) -> None:
        """Close the transport if one was built."""
        with self._transport_lock:
            if self._transport is not None:
                self._transport.close()
                self._transport = None
