"""The async twin of :mod:`tokensmith.application.managed_identity`: the same methods and
parameters, ``async def``, over the asyncio driver and an async transport.

Generated from src/tokensmith/application/managed_identity.py by scripts/unasync.py;
do not edit (``make check`` fails when it differs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tokensmith._clock import Clock, system_clock
from tokensmith._http_cache import HttpCache
from tokensmith.application import mi_host
from tokensmith.application.core import AsyncRunner
from tokensmith.application.factory import TransportOptions
from tokensmith.cache import TokenCache
from tokensmith.engine import managed_identity as mi
from tokensmith.engine.results import TokenResult
from tokensmith.protocol.managed_identity.identity import (
    ManagedIdentityError,
    is_managed_identity,
)
from tokensmith.transport.deadline import DEFAULT_DEADLINE, check_deadline

__all__ = ["ManagedIdentityClient"]


class ManagedIdentityClient(AsyncRunner):
    """MSAL's managed identity client: ``acquire_token_for_client(resource=...)``."""

    def __init__(
        self,
        managed_identity: Mapping[str, Any],
        *,
        http_client: Any = None,
        token_cache: TokenCache | None = None,
        http_cache: Any = None,
        client_capabilities: Sequence[str] | None = None,
        transport: Any = None,
        clock: Clock | None = None,
        sleep: Callable[[float], Any] | None = None,
        arc_key_directory: str | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
    ) -> None:
        """Build the client (no I/O).

        MSAL's parameters, plus tokensmith's ``transport``, ``clock``, ``sleep`` and
        ``deadline`` (as the other applications take them) and ``arc_key_directory``
        (where Arc key files may be read from; the agent's directory by default). In a
        Service Fabric environment the requests go through a transport pinned to
        ``IDENTITY_SERVER_THUMBPRINT`` (not ``http_client``), unless ``transport`` is given.

        Raises:
            ManagedIdentityError: ``managed_identity`` is not an identity MSAL accepts,
                or Service Fabric's thumbprint is malformed.
        """
        if not is_managed_identity(managed_identity):
            raise ManagedIdentityError(f"Incorrect managed_identity: {managed_identity}")
        self._managed_identity = managed_identity
        self._http_cache = http_cache
        self._client_capabilities = tuple(client_capabilities or ())
        clock = clock or system_clock
        cache = token_cache if token_cache is not None else TokenCache()
        self._ctx = mi.mi_context(cache, clock)
        self._host = mi_host.live_host(arc_key_directory)
        if transport is None:
            pin = mi_host.service_fabric_pin()
            transport = mi_host.PinnedTransport(pin) if pin else None
        self._transport_options = TransportOptions(
            http_client,
            transport,
            True,
            None,
            None,
            clock,
            sleep,
            False,
            check_deadline(deadline),
            managed_identity=True,
            http_cache=None if http_cache is None else HttpCache(http_cache),
        )
        self._transport_lock = threading.Lock()

    async def acquire_token_for_client(
        self, *, resource: str, claims_challenge: str | None = None
    ) -> TokenResult:
        """A token of the managed identity for ``resource``, from the cache when one is
        usable; a ``claims_challenge`` bypasses the cache."""
        flow = await self._cache_call(
            mi.acquire_token_for_client,
            self._ctx,
            self._managed_identity,
            self._host,
            resource,
            claims_challenge,
            self._client_capabilities,
        )
        return await self._run(flow)

    async def close(self) -> None:
        """Release the transport (the client can still be used: it reopens one)."""
        await self._close()

    async def __aenter__(self) -> ManagedIdentityClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"ManagedIdentityClient({dict(self._managed_identity)!r})"
