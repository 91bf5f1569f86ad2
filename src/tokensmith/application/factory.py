"""Assembling an application from MSAL's constructor arguments: the engine's context,
and the transport stacks (sync and async) the drivers send through."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tokensmith._clock import Clock
from tokensmith.authority import AuthoritySpec, parse_authority
from tokensmith.cache import TokenCache
from tokensmith.engine.context import AppContext
from tokensmith.entra.instance_discovery import aliases_for
from tokensmith.entra.region import (
    IMDS_COMPUTE_ENDPOINT,
    REGION_MEMO,
    RegionChoice,
    configured_region,
)
from tokensmith.errors import AuthorityError, ConfigurationError
from tokensmith.protocol.client_auth import (
    ClientAuth,
    PublicClientAuth,
    client_auth_from_credential,
)
from tokensmith.protocol.scopes import validate_exclude_scopes
from tokensmith.transport.deadline import DEFAULT_DEADLINE

if TYPE_CHECKING:  # the transport's types load with the first request's stack
    from tokensmith._http_cache import HttpCache
    from tokensmith.transport.base import AsyncTransport, Transport

__all__ = ["TransportOptions", "async_stack", "build_context", "sync_stack"]


def build_context(
    *,
    client_id: str,
    client_credential: Any,
    authority: Any,
    oidc_authority: str | None,
    validate_authority: bool,
    instance_discovery: bool | str | None,
    known_authorities: Collection[str],
    cache: TokenCache,
    client_claims: Mapping[str, Any] | None,
    headers: dict[str, str],
    clock: Clock,
    is_public: bool,
    exclude_scopes: Any,
    client_capabilities: Any,
    azure_region: Any = None,
    region_endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
    http_cache: HttpCache | None = None,
) -> AppContext:
    """Parse the authority, build the client authentication and decide the region
    (``azure_region``, or ``MSAL_FORCE_REGION`` in ``environ``); no I/O.

    Raises:
        ValueError: bad credential, scopes, authority or region (``ConfigurationError``).
    """
    environ = os.environ if environ is None else environ
    has_credential = bool(client_credential) and not is_public
    region = configured_region(azure_region, has_credential=has_credential, environ=environ)
    if known_authorities is None:
        known_authorities = ()
    if isinstance(known_authorities, (str, bytes)) or not isinstance(known_authorities, Iterable):
        raise AuthorityError("known_authorities must be a collection of host names")
    options: dict[str, Any] = {
        "validate_authority": validate_authority,
        "instance_discovery": instance_discovery,
        "known_authorities": tuple(known_authorities),
    }
    spec = parse_authority(authority, oidc_authority=oidc_authority, **options)
    client_auth = _client_auth(
        client_credential, client_id, spec, dict(client_claims or {}) or None, is_public
    )
    use_aliases = instance_discovery is not False and not spec.is_known_to_developer
    ctx = AppContext(
        client_id=client_id,
        cache=cache,
        client_auth=client_auth,
        default_spec=spec,
        aliases=(lambda host: aliases_for(host)) if use_aliases else (lambda host: ()),
        base_headers=headers,
        clock=clock,
        authority_options=options,
        is_public=is_public,
        exclude_scopes=frozenset(validate_exclude_scopes(exclude_scopes or [])),
        client_capabilities=tuple(client_capabilities or ()),
        http_cache=http_cache,
    )
    if region is not False:
        ctx.memos[REGION_MEMO] = RegionChoice(
            region, region_endpoint or IMDS_COMPUTE_ENDPOINT, environ
        )
    return ctx


def _client_auth(
    credential: Any,
    client_id: str,
    spec: AuthoritySpec,
    client_claims: dict[str, Any] | None,
    is_public: bool,
) -> ClientAuth:
    if is_public:
        if credential is not None:
            raise ConfigurationError(
                "A public client application does not take a client_credential; "
                "use ConfidentialClientApplication"
            )
        return PublicClientAuth()
    if credential is None or credential == "":
        return PublicClientAuth()  # MSAL builds it too (requests then carry no credential)
    if isinstance(credential, Mapping) and isinstance(
        credential.get("client_assertion"), (str, bytes)
    ):
        # MSAL's warning, as MSAL gives it (its category and the caller's line)
        warnings.warn(
            "Passing a static string/bytes 'client_assertion' is discouraged because the "
            "JWT will eventually expire. Pass a no-arg callable instead (optionally "
            "wrapped in AutoRefresher) so a fresh assertion is obtained on demand.",
            DeprecationWarning,
            stacklevel=4,
        )
    return client_auth_from_credential(
        credential, client_id=client_id, is_adfs=spec.is_adfs, client_claims=client_claims
    )


class TransportOptions:  # a plain class: a named tuple costs a compile per process and
    # a dataclass its import ("Import cost", docs/architecture.md)
    """MSAL's transport arguments, kept to build a stack on first use.

    Attributes:
        deadline: seconds per acquire call (:mod:`tokensmith.transport.deadline`);
            ``None``: no bound.
        managed_identity: a managed-identity client: its source requests are throttled
            by MSAL's managed-identity rule
            (:meth:`~tokensmith.transport.throttle.Throttle.for_managed_identity`).
        http_cache: the application's ``http_cache``: the throttle's entries are
            persisted there.
    """

    __slots__ = (
        "clock",
        "deadline",
        "http_cache",
        "http_client",
        "is_public",
        "managed_identity",
        "proxies",
        "sleep",
        "timeout",
        "transport",
        "verify",
    )

    def __init__(
        self,
        http_client: Any,
        transport: Any,
        verify: Any,
        proxies: Any,
        timeout: Any,
        clock: Clock,
        sleep: Any,
        is_public: bool,
        deadline: float | None = DEFAULT_DEADLINE,
        managed_identity: bool = False,
        http_cache: HttpCache | None = None,
    ) -> None:
        self.http_client = http_client
        self.transport = transport
        self.verify = verify
        self.proxies = proxies
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self.is_public = is_public
        self.deadline = deadline
        self.managed_identity = managed_identity
        self.http_cache = http_cache


def _policies(options: TransportOptions) -> tuple[Any, Any]:
    from tokensmith.transport.retry import RetryPolicy
    from tokensmith.transport.throttle import Throttle

    persist = options.http_cache
    if options.managed_identity:
        throttle = Throttle.for_managed_identity(options.clock, persist=persist)
        return RetryPolicy(clock=options.clock), throttle
    default = 60.0 if options.is_public else 5.0
    throttle = Throttle(options.clock, default_retry_after=default, persist=persist)
    return RetryPolicy(clock=options.clock), throttle


def sync_stack(options: TransportOptions) -> Transport:
    """Retries and throttling over the given transport, the MSAL-style ``http_client``,
    or httpx."""
    import time

    from tokensmith.transport.resilient import ResilientTransport

    inner: Transport
    if options.transport is not None:
        inner = options.transport
    elif options.http_client is not None:
        from tokensmith.transport.http_client_adapter import HttpClientTransport

        inner = HttpClientTransport(options.http_client)
    else:
        from tokensmith.transport.httpx_transport import DEFAULT_TIMEOUT, HttpxTransport

        inner = HttpxTransport(
            verify=options.verify,
            proxies=options.proxies,
            timeout=options.timeout if options.timeout is not None else DEFAULT_TIMEOUT,
        )
    retry, throttle = _policies(options)
    return ResilientTransport(
        inner, retry=retry, throttle=throttle, sleep=options.sleep or time.sleep
    )


def async_stack(options: TransportOptions) -> AsyncTransport:
    """:func:`sync_stack` for asyncio: over the given (async or sync) transport, an
    async or sync MSAL-style ``http_client``, or ``httpx.AsyncClient``."""
    from tokensmith.transport import (
        AsyncResilientTransport,
        AsyncTransport,
        ThreadedTransport,
        async_transport_for,
    )

    inner: AsyncTransport
    if options.transport is not None:
        given = options.transport
        inner = given if isinstance(given, AsyncTransport) else ThreadedTransport(given)
    elif options.http_client is not None:
        inner = async_transport_for(options.http_client)
    else:
        from tokensmith.transport.httpx_async import AsyncHttpxTransport
        from tokensmith.transport.httpx_transport import DEFAULT_TIMEOUT

        inner = AsyncHttpxTransport(
            verify=options.verify,
            proxies=options.proxies,
            timeout=options.timeout if options.timeout is not None else DEFAULT_TIMEOUT,
        )
    retry, throttle = _policies(options)
    return AsyncResilientTransport(
        inner, retry=retry, throttle=throttle, sleep=async_sleep(options.sleep)
    )


def async_sleep(sleep: Callable[[float], Any] | None) -> Callable[[float], Any]:
    """``asyncio.sleep``, or the given sleep (a coroutine function, or a plain one such
    as a test clock's, called and not awaited)."""
    import asyncio
    import inspect

    if sleep is None:
        return asyncio.sleep
    if inspect.iscoroutinefunction(sleep):
        return sleep

    async def call(seconds: float) -> None:
        sleep(seconds)

    return call
