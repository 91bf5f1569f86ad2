"""What the sync façade (:mod:`tokensmith.application`) and the async one
(:mod:`tokensmith.aio`) share: MSAL's constructor, and the two ways to run a flow.

:class:`AppCore` takes MSAL Python's constructor arguments, builds the engine's
:class:`~tokensmith.engine.context.AppContext` (no I/O) and remembers how to build the
transport. :class:`SyncRunner` and :class:`AsyncRunner` run the engine's flows with
the sync or the async driver; the façade classes are the same source
(``tokensmith/aio/*.py`` is generated from ``tokensmith/application/*.py``).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from tokensmith._clock import Clock, system_clock
from tokensmith.application import factory
from tokensmith.authority import Authority, AuthoritySpec
from tokensmith.cache import TokenCache
from tokensmith.cache.store_io import MEMORY_ONLY, REPEATED, StoreReadDeferred
from tokensmith.engine.dpop import dpop_setting
from tokensmith.entra.headers import library_headers
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.effects import Done, Flow
from tokensmith.protocol.http import CallOptions
from tokensmith.transport.deadline import DEFAULT_DEADLINE, check_deadline

if TYPE_CHECKING:  # a CLI answered from its cache loads none of these (docs/performance.md)
    from tokensmith.authority import AuthorityMetadata
    from tokensmith.protocol.dpop import DPoPKey
    from tokensmith.transport.base import AsyncTransport, Transport

__all__ = ["AppCore", "AsyncRunner", "SyncRunner"]

T = TypeVar("T")
P = ParamSpec("P")

PerCall = tuple[Mapping[str, str] | None, CallOptions | None]
"""A call's ``params=`` and other transport keywords (:func:`call_options`)."""


class AppCore:
    """MSAL's ``ClientApplication`` constructor (sync and async twins alike)."""

    _is_public = False
    _is_confidential = False
    _http_client_class: str
    """The name of the live ``http_client`` class in :mod:`~tokensmith.application.http_client`."""

    def __init__(
        self,
        client_id: str,
        client_credential: Any = None,
        authority: Any = None,
        validate_authority: bool = True,
        token_cache: TokenCache | None = None,
        http_client: Any = None,
        verify: bool | str = True,
        proxies: Any = None,
        timeout: Any = None,
        client_claims: Mapping[str, Any] | None = None,
        app_name: str | None = None,
        app_version: str | None = None,
        client_capabilities: Sequence[str] | None = None,
        azure_region: Any = None,
        exclude_scopes: Sequence[str] | None = None,
        http_cache: Any = None,
        instance_discovery: bool | str | None = None,
        allow_broker: bool | None = None,
        enable_pii_log: bool | None = None,
        oidc_authority: str | None = None,
        *,
        known_authorities: Collection[str] = (),
        transport: Any = None,
        clock: Clock | None = None,
        sleep: Callable[[float], Any] | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
        region_discovery_endpoint: str | None = None,
        dpop: Any = None,
    ) -> None:
        """Build the application. No network I/O happens here (discovery is lazy).

        Beyond MSAL's parameters: ``known_authorities`` (hosts trusted without instance
        discovery), ``transport`` (a :class:`~tokensmith.transport.Transport`, or for
        :mod:`tokensmith.aio` an :class:`~tokensmith.transport.AsyncTransport`),
        ``deadline`` (the seconds one acquire call may take, retries and slow bodies
        included, where ``timeout`` bounds each connect and read; ``None``: no bound;
        docs/architecture.md, Transport), ``dpop`` (``True`` or a
        :class:`~tokensmith.DPoPKey`: every token is DPoP-bound, RFC 9449; docs/dpop.md),
        and ``clock`` (epoch-seconds callable) and ``sleep`` (both for tests).
        ``region_discovery_endpoint``: the IMDS compute metadata URL that
        ``azure_region=True`` asks (tests point it at a stand-in on loopback).

        Raises:
            ValueError: a parameter is not acceptable (``ConfigurationError``, or
                ``AuthorityError`` for the authority).
        """
        if not client_id or not isinstance(client_id, str):
            raise ConfigurationError("client_id must be a non-empty string")
        if allow_broker and (client_credential or self._is_confidential):
            # MSAL's rule: a plain ClientApplication without a credential may ask for it
            raise ConfigurationError("allow_broker is only for PublicClientApplication")
        self.client_id = client_id
        self.client_credential = client_credential
        self.app_name = app_name
        self.app_version = app_version
        self._azure_region = azure_region
        self._http_cache = http_cache
        persisted = None
        if http_cache is not None:
            from tokensmith._http_cache import HttpCache

            persisted = HttpCache(http_cache)
        clock = clock or system_clock
        self._ctx = factory.build_context(
            client_id=client_id,
            client_credential=client_credential,
            authority=authority,
            oidc_authority=oidc_authority,
            validate_authority=validate_authority,
            instance_discovery=instance_discovery,
            known_authorities=known_authorities,
            cache=token_cache if token_cache is not None else TokenCache(),
            client_claims=client_claims,
            headers=library_headers(app_name, app_version),
            clock=clock,
            is_public=self._is_public,
            exclude_scopes=exclude_scopes,
            client_capabilities=client_capabilities,
            azure_region=azure_region,
            region_endpoint=region_discovery_endpoint,
            http_cache=persisted,
        )
        self._transport_options = factory.TransportOptions(
            http_client,
            transport,
            verify,
            proxies,
            timeout,
            clock,
            sleep,
            self._is_public,
            check_deadline(deadline),
            http_cache=persisted,
        )
        self._transport_lock = threading.Lock()
        self._ctx.dpop = dpop_setting(dpop)
        self.authority = Authority(self._ctx.default.spec, _weak_resolver(self))

    @property
    def http_client(self) -> Any:
        """The ``http_client`` given to the constructor, else a live client with MSAL's
        ``get``/``post`` over this application's transport stack (async ``get``/``post``
        for :mod:`tokensmith.aio`); read-only."""
        given = self._transport_options.http_client
        if given is not None:
            return given
        view = self.__dict__.get("_http_client_view")
        if view is None:
            from tokensmith.application import http_client as live_client

            view_class = getattr(live_client, self._http_client_class)
            view = self._http_client_view = view_class(
                live_client.weak_runner(self._run)  # type: ignore[attr-defined]
            )
        return view

    @property
    def token_cache(self) -> TokenCache:
        """The token cache every call reads and writes (assignable)."""
        return self._ctx.token_cache  # type: ignore[return-value]

    @token_cache.setter
    def token_cache(self, cache: TokenCache) -> None:
        self._ctx.set_cache(cache)

    @property
    def dpop_key(self) -> DPoPKey | None:
        """The key this application's DPoP proofs are signed with (None without
        ``dpop=``); with ``dpop=True``, the one kept in the token cache."""
        from tokensmith.engine.dpop import binding_of

        binding = binding_of(self._ctx)
        return None if binding is None else binding.key

    def _per_call(self, method: str, kwargs: dict[str, Any]) -> PerCall | None:
        """Take the transport keywords (``timeout=``, ``params=``...) out of an acquire
        call's ``kwargs``, as MSAL hands them to its ``http_client``; nothing to do
        (and no cost) for a call without extra keywords.

        Raises:
            TypeError: a keyword MSAL would refuse, named. ValueError: a bad timeout.
        """
        if not kwargs:
            return None
        from tokensmith.engine.keywords import call_options

        passthrough = self._transport_options.http_client is not None
        return call_options(method, kwargs, passthrough=passthrough)

    def _resolve_default(self, spec: AuthoritySpec) -> AuthorityMetadata:
        """Discovery for MSAL's ``app.authority`` object, which reads it synchronously."""
        handle = self._ctx.default
        if handle.metadata is not None:
            return handle.metadata
        from tokensmith.drivers.sync import run_flow
        from tokensmith.engine.context import metadata_of

        transport = factory.sync_stack(self._transport_options)
        try:
            return run_flow(
                metadata_of(handle), transport, deadline=self._transport_options.deadline
            )
        finally:
            transport.close()

    def __repr__(self) -> str:
        authority = self._ctx.default.spec.canonical_url
        return f"{type(self).__name__}(client_id={self.client_id!r}, authority={authority!r})"


class SyncRunner(AppCore):
    """Runs flows with the sync driver over a lazily built transport stack."""

    _http_client_class = "AppHttpClient"

    _transport: Transport | None = None

    def _run(self, flow: Flow[T], per_call: PerCall | None = None) -> T:
        if type(flow) is Done:  # answered from the cache: no transport needed
            return flow.value  # type: ignore[no-any-return]
        from tokensmith.drivers.sync import run_flow  # loaded by the first request

        if per_call is not None:
            from tokensmith.engine.keywords import with_call_options

            flow = with_call_options(flow, *per_call)
        transport = self._transport
        if transport is None:
            with self._transport_lock:
                if self._transport is None:
                    self._transport = factory.sync_stack(self._transport_options)
                transport = self._transport
        options = self._transport_options
        return run_flow(flow, transport, options.sleep or _sleep, options.deadline)

    def _resolve_default(self, spec: AuthoritySpec) -> AuthorityMetadata:
        from tokensmith.engine.context import metadata_of

        return self._run(metadata_of(self._ctx.default))

    def _close(self) -> None:
        with self._transport_lock:
            if self._transport is not None:
                self._transport.close()
                self._transport = None


class AsyncRunner(AppCore):
    """Runs flows with the asyncio driver over a lazily built async transport stack
    (httpx.AsyncClient by default; bound to the loop that first uses it)."""

    _http_client_class = "AsyncAppHttpClient"

    _async_transport: AsyncTransport | None = None

    _async_sleep: Callable[[float], Any]
    _driver: Callable[..., Any]

    async def _cache_call(self, make: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``make(*args)``, a call that may read the cache now (building a cache-first
        flow, ``get_accounts``...). With a store-backed cache it runs on the loop in
        memory-only mode and, when memory cannot answer, again in a worker thread
        (:mod:`tokensmith.cache.store_io`): an L1 hit never leaves the loop, and the
        store is never read on it."""
        if not self._ctx.cache.store_backed:
            return make(*args, **kwargs)
        token = MEMORY_ONLY.set(True)
        try:
            return make(*args, **kwargs)
        except StoreReadDeferred:
            pass
        finally:
            MEMORY_ONLY.reset(token)
        from tokensmith.drivers.asyncio import off_loop

        again = REPEATED.set(True)  # (the worker's context is a copy, taken now)
        try:
            future = off_loop(make, *args, **kwargs)
        finally:
            REPEATED.reset(again)
        return await future

    async def _run(self, flow: Flow[T], per_call: PerCall | None = None) -> T:
        if type(flow) is Done:  # answered from the cache: no transport needed
            return flow.value  # type: ignore[no-any-return]
        if per_call is not None:
            from tokensmith.engine.keywords import with_call_options

            flow = with_call_options(flow, *per_call)
        transport = self._async_transport
        if transport is None:
            from tokensmith.drivers.asyncio import run_flow_async  # asyncio loads here

            with self._transport_lock:
                if self._async_transport is None:
                    self._driver = run_flow_async
                    self._async_sleep = factory.async_sleep(self._transport_options.sleep)
                    self._async_transport = factory.async_stack(self._transport_options)
                transport = self._async_transport
        deadline = self._transport_options.deadline
        # with a store-backed cache, the flow's steps (its store reads and writes) run
        # in worker threads, off the loop
        threads = self._ctx.cache.store_backed
        result: T = await self._driver(flow, transport, self._async_sleep, deadline, threads)
        return result

    async def _close(self) -> None:
        with self._transport_lock:
            transport, self._async_transport = self._async_transport, None
        if transport is not None:
            await transport.aclose()


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _weak_resolver(app: AppCore) -> Callable[[AuthoritySpec], AuthorityMetadata]:
    """``app._resolve_default`` without a reference back to ``app``: a bound method
    held by ``app.authority`` would make every application a reference cycle, freed
    only by the cyclic collector (which then walks a whole large token cache)."""
    method = weakref.WeakMethod(app._resolve_default)

    def resolve(spec: AuthoritySpec) -> AuthorityMetadata:
        bound = method()
        if bound is None:
            raise ConfigurationError("the application of this authority object is gone")
        return bound(spec)

    return resolve
